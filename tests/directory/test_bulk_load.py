"""Bulk loads (`directory ingest --bulk`): a graph that holds nothing yet is
built at once (FalkorDB's GRAPH.BULK) with what ingest stores, then resolved
in one batch run; a graph with records gets the same through statements."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from directory.demo_data import generate_large_with_truth
from directory.ingest import IngestReport, ingest_lines, record_for_bulk_load
from directory.settings import Settings
from graph import falkordb_bulk
from graph.backend import Statement
from graph.errors import GraphError
from graph.model import MatchingRow
from graph.store import RECORDS_CHANGED_AT, GraphWriter, RecordLoad
from resolvers import batch
from resolvers.batch import BatchReport, read_all, record_features, resolve_all
from resolvers.features import Features
from resolvers.parallel import iter_jsonl_parallel
from resolvers.records import iter_json_array_items
from tests.conftest import fresh_embedded_graph
from tests.helpers import load, rec
from tests.resolvers.population import population

_STORED = Statement(
    "stored",
    "MATCH (r:Record) OPTIONAL MATCH (r)-[h:HAS]->(i:Identifier) WITH r, h, i ORDER BY i.key "
    "WITH r, collect([properties(h), properties(i)]) AS identifiers "
    "OPTIONAL MATCH (r)-[e:EVIDENCES]->(s:Skill) WITH r, identifiers, e, s ORDER BY s.name "
    "WITH r, identifiers, collect([s.name, e.weight, e.declared]) AS evidence "
    "OPTIONAL MATCH (r)-[l:LEASED]->(a:Identifier) "
    "RETURN r.key AS key, properties(r) AS record, identifiers, evidence, "
    "collect([a.key, l.ip]) AS leases ORDER BY key",
    {},
)
_MOMENTS = {"ingested_at", "updated_at", "first_seen", "last_seen"}  # when it was written


def _bulk(
    writer: GraphWriter, records: list[dict[str, Any]], settings: Settings, *, beside: bool = False
) -> IngestReport:
    """A bulk load of `records`; `beside`: as JSON lines, which the parsing
    processes also encode for the load (as `directory ingest --bulk` has them)."""
    region = settings.default_region
    if not beside:
        parsed = list(iter_json_array_items(records, default_region=region))
    else:
        lines = [json.dumps(record) for record in records]
        parsed = list(iter_jsonl_parallel(
            lines, default_region=region, chunk_size=4, prepare=record_for_bulk_load
        ))  # fmt: skip
        assert all(line.prepared for line in parsed if line.record)
    return ingest_lines(writer, parsed, settings=settings, origin="bulk", resolve_now=False)


def _stored(writer: GraphWriter) -> list[tuple[Any, ...]]:
    """Every record with its identifiers and their edges, its skill evidence
    and its IP lease, as stored."""

    def plain(props: dict[str, Any] | None) -> dict[str, Any]:
        return {k: v for k, v in (props or {}).items() if k not in _MOMENTS}

    return [
        (row["key"], plain(row["record"]), [[plain(h), plain(i)] for h, i in row["identifiers"]],
         row["evidence"], row["leases"])
        for row in writer.backend.read(_STORED)
    ]  # fmt: skip


@pytest.fixture
def other(embedded_dir: Path) -> Iterator[GraphWriter]:
    """A second fresh graph, to compare with `falkor`."""
    yield from fresh_embedded_graph(embedded_dir)


def _records() -> list[dict[str, Any]]:
    """A population with what a bulk load must store as ingest does: odd texts,
    topics, an IP seen at a time, a family email (generic), a record read twice."""
    names = ["Ana Ruiz", "Luis Ruiz", "Eva Ruiz", "Pablo Ruiz"]
    family = [rec("crm", f"F{i}", name, email="family@example.org") for i, name in enumerate(names)]
    odd = 'Zoë "Z" O\'Brien \\ back\nslash — 東京 🚀 `tick` $param'
    employee = {"source": "wiki", "kind": "employee", "name": "Ines Ruiz"}
    return [
        rec("crm", "twice", "First Name", email="first@example.org"),  # a batch apart
        dict(employee, source_id="w1", topics=["ipv6"]),
        dict(employee, source_id="w2", topics=["ipv6"]),
        *population(people=30)[0],
        dict(employee, source_id="w1", topics=[]),  # read again: no evidence now
        dict(employee, source_id="w2", topics=["dns"]),  # another skill now
        rec("isp_lease", "L1", None, account="ACCT1") | {"identifiers": [
            {"type": "account", "value": "ACCT1"},
            {"type": "ip", "value": "198.51.100.7", "seen_at": "2026-03-01T09:00:00Z"}]},
        rec("web", "s2", None) | {"identifiers": [
            {"type": "ip", "value": "198.51.100.7", "seen_at": "2026-03-01T10:00:00Z"}]},
        *family,
        dict(rec("blog", "odd", odd, email="z@x.org"), text=odd, topics=["ipv6", "bgp"]),
        rec("web", "s1", None, ip="203.0.113.9") | {"identifiers": [
            {"type": "ip", "value": "203.0.113.9", "seen_at": "2026-03-01T10:00:00Z"}]},
        rec("crm", "twice", "Second Name", email="twice@example.org"),
    ]  # fmt: skip


@pytest.fixture(params=[64 << 20, 2000])  # 2000: many queries, edges across
def query_bytes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """The most a GRAPH.BULK query carries, in bytes (set for the test)."""
    size = int(request.param)
    monkeypatch.setattr(falkordb_bulk, "_MAX_QUERY_BYTES", size)
    return size


@pytest.mark.parametrize("beside", [False, True], ids=["encoded-here", "encoded-beside"])
def test_a_bulk_load_stores_what_ingest_stores(
    falkor: GraphWriter,
    other: GraphWriter,
    settings: Settings,
    *,
    caplog: pytest.LogCaptureFixture,
    query_bytes: int,
    beside: bool,
) -> None:
    records = _records()
    with caplog.at_level(logging.DEBUG, logger="graph"):
        report = _bulk(falkor, records, settings, beside=beside)
    queries = sum("query bulk took" in message for message in caplog.messages)  # GRAPH.BULK
    assert queries == 1 if query_bytes > 2000 else queries > 5
    assert (report.read, report.created, report.updated) == (len(records), len(records) - 3, 3)
    assert report.generic_marked == 1  # the family's email
    load(other, records, settings)
    bulk, ingested = _stored(falkor), _stored(other)
    assert len(bulk) == len(records) - 3
    stored = {row[0]: row for row in bulk}
    assert stored["crm/twice"][1]["name"] == "Second Name"  # the last one read wins
    assert stored["wiki/w1"][3] == [[None, None, None]]  # no evidence left
    assert [skill for skill, *_ in stored["wiki/w2"][3]] == ["dns"]
    assert stored["web/s2"][4] == [["account:ACCT1", "ip:198.51.100.7"]]  # the lease
    assert bulk == ingested


def test_a_graph_with_records_is_loaded_by_statements(
    falkor: GraphWriter, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    load(falkor, [rec("crm", "1", "Ana Ruiz", email="ana@example.org")], settings)
    with caplog.at_level(logging.DEBUG, logger="graph"):
        report = _bulk(falkor, _records(), settings)
    assert not any("query bulk took" in message for message in caplog.messages)
    assert report.created == len(_records()) - 3  # three read twice
    again = _bulk(falkor, _records(), settings)
    assert (again.created, again.updated) == (0, len(_records()))
    assert falkor.count_of("Record") == len(_records()) - 2  # never duplicated


def test_records_loaded_in_bulk_are_found_by_the_online_matcher(
    falkor: GraphWriter, other: GraphWriter, settings: Settings
) -> None:
    """The indexes (the full-text one on names too) cover what the bulk load
    wrote: records arriving later are linked as they are in a graph ingested
    batch by batch."""
    records, truth = population(people=80)
    late = {f"crm/B{p}" for p in range(40, 80)} | {f"twitter/T{p}" for p in range(40, 80)}
    first = [r for r in records if f"{r['source']}/{r['source_id']}" not in late]
    arriving = [r for r in records if f"{r['source']}/{r['source_id']}" in late]
    linked = []
    for writer, write in ((falkor, _bulk), (other, load)):
        write(writer, first, settings)
        resolve_all(writer, thresholds=settings.thresholds, source_rank=settings.source_rank)
        report = load(writer, arriving, settings)
        assert report.probabilistic_links > 0
        edges = writer.match_edges(sorted(late))
        linked.append({(e.left, e.right, round(e.weight, 9)) for e in edges})
    assert linked[0] == linked[1]
    assert all(truth[left] == truth[right] for left, right, _ in linked[0])


def test_a_bulk_load_hands_over_its_records_as_the_graph_reads_them(
    falkor: GraphWriter, settings: Settings
) -> None:
    """The batch resolver takes a bulk load's records from memory instead of
    reading them back: they must be what it would read, to the identifiers'
    order and the people on the generic ones, and the ids of their nodes."""
    records = [record for record, _ in generate_large_with_truth(2000)]
    records += _once(_records())
    report = _bulk(falkor, records, settings)
    assert report.loaded is not None
    assert falkor.setting(RECORDS_CHANGED_AT) == report.loaded.changed_at
    read_back = read_all(falkor, lambda *_: None)
    assert any(generic for row in read_back for *_, generic, _ in row.identifiers)
    assert report.loaded.rows == read_back
    assert report.loaded.features == [record_features(row) for row in read_back]
    # The resolution's edges go to the records' nodes by these ids, unread.
    assert report.loaded.record_ids == falkor.node_ids("Record", "key")


def test_a_bulk_load_works_on_while_the_engine_indexes_its_records(
    falkor: GraphWriter, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FalkorDB builds the indexes of a bulk-loaded graph in the background
    (11 s a million records): the load's Python work goes on meanwhile, and
    the first query after it waits until they are built, once."""
    backend: Any = falkor.backend
    happened: list[str] = []
    wait, features = backend._wait_operational, batch.record_features

    def waited() -> None:
        happened.append("waited")
        wait()

    def featured(row: MatchingRow) -> Features:
        happened.append("features")
        return features(row)

    monkeypatch.setattr(backend, "_wait_operational", waited)
    monkeypatch.setattr(batch, "record_features", featured)
    records = _once(_records())
    _bulk(falkor, records, settings)
    assert happened == ["features"] * len(records) + ["waited"]
    assert falkor.count_of("Record") == len(records)
    assert happened.count("waited") == 1  # built: the next query does not wait


def test_records_written_after_a_bulk_load_are_read_from_the_graph(
    falkor: GraphWriter, other: GraphWriter, settings: Settings
) -> None:
    twice = _bulk(falkor, _records(), settings)  # a record read twice: rewritten after
    assert twice.loaded is None
    assert _resolved(falkor, settings, twice).records == len(_records()) - 3
    records = _once(_records())
    report = _bulk(other, records, settings)
    assert report.loaded is not None
    load(other, [rec("crm", "later", "Zoe Xylander", email="zoe@example.org")], settings)
    assert _resolved(other, settings, report).records == len(records) + 1


def _once(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each record once: its last version."""
    return list({(r["source"], r["source_id"]): r for r in records}.values())


def _resolved(writer: GraphWriter, settings: Settings, report: IngestReport) -> BatchReport:
    return resolve_all(
        writer, thresholds=settings.thresholds, source_rank=settings.source_rank,
        loaded=report.loaded,
    )  # fmt: skip


_RESOLVED = Statement(
    "resolved",
    "MATCH (r:Record)-[l:IN]->(p:Profile) WITH p, collect([r.key, l.rule, l.via, l.via_record]) "
    "AS links RETURN p.id AS id, p.kind AS kind, p.display_name AS name, "
    "p.record_count AS count, links",
    {},
)
_MATCHES = Statement(
    "matches",
    "MATCH (a:Record)-[m]->(b:Record) RETURN type(m) AS type, a.key AS a, b.key AS b, "
    "m.weight AS weight, m.probability AS p, m.reason AS reason, m.priority AS priority",
    {},
)


def _resolution(writer: GraphWriter) -> tuple[set[Any], set[Any]]:
    """Each profile (its records with their links, kind, name, size; not its
    id) and each match edge, as stored; each profile found by its id."""
    profiles = set()
    for row in writer.backend.read(_RESOLVED):
        by_id = "MATCH (p:Profile {id: $id}) RETURN count(p) AS n"
        found = writer.backend.read(Statement("by_id", by_id, {"id": row["id"]}))
        assert found[0]["n"] == 1  # the index has it
        links = frozenset(tuple(link) for link in row["links"])
        profiles.add((links, row["kind"], row["name"], row["count"]))
    matches = {tuple(row.values()) for row in writer.backend.read(_MATCHES)}
    return profiles, matches


def test_the_first_resolution_of_a_bulk_load_is_written_in_bulk_as_by_statements(
    falkor: GraphWriter, other: GraphWriter, settings: Settings, caplog: pytest.LogCaptureFixture,
    query_bytes: int,
) -> None:  # fmt: skip
    records = _once([record for record, _ in generate_large_with_truth(1500)] + _records())
    reports, handed = [], []
    for writer, in_bulk in ((falkor, True), (other, False)):
        report = _bulk(writer, records, settings)
        assert report.loaded is not None
        handed.append(report.loaded)
        if in_bulk:  # ids freed above the last node: new nodes take them, last freed first
            writer.backend.write(Statement("tmp", "CREATE (:Tmp), (:Tmp), (:Tmp)", {}))
            writer.backend.write(Statement("tmp", "MATCH (t:Tmp) DELETE t", {}))
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="graph"):
            reports.append(resolve_all(
                writer, thresholds=settings.thresholds, source_rank=settings.source_rank,
                loaded=report.loaded if in_bulk else None,
            ))  # fmt: skip
        queries = sum("query bulk took" in message for message in caplog.messages)
        assert (queries > 0) == in_bulk
        assert queries > 2 or query_bytes > 3000 or not in_bulk
    assert reports[0].links > 0
    assert reports[0].review > 0
    assert (reports[0].links, reports[0].review) == (reports[1].links, reports[1].review)
    assert _resolution(falkor) == _resolution(other)
    # Resolved again with what the load handed over: the profiles are there
    # now, so statements rewrite them (nothing is added twice).
    again = resolve_all(
        falkor, thresholds=settings.thresholds, source_rank=settings.source_rank, force=True,
        loaded=handed[0],
    )  # fmt: skip
    assert again.profiles_after == reports[0].profiles_after
    assert _resolution(falkor) == _resolution(other)


@pytest.mark.parametrize("copy_dies", [False, True])
def test_profiles_made_in_a_forked_copy_are_those_made_here(
    falkor: GraphWriter, other: GraphWriter, settings: Settings, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch, *, copy_dies: bool,
) -> None:  # fmt: skip
    """A large first resolution has a forked copy make and encode the last
    part of the profiles; if it dies, they are made here."""
    records = _once([record for record, _ in generate_large_with_truth(600)] + _records())
    _resolved(other, settings, _bulk(other, records, settings))  # a small set: all made here
    report = _bulk(falkor, records, settings)
    monkeypatch.setattr(batch, "BESIDE_FROM", 2)
    here, encoded, made_here = os.getpid(), batch._encoded_profiles, []

    def spied(*args: Any, **kwargs: Any) -> Any:
        if os.getpid() != here and copy_dies:
            os._exit(3)
        if os.getpid() == here:
            made_here.append(args[4] - args[3])  # how many groups
        return encoded(*args, **kwargs)

    monkeypatch.setattr(batch, "_encoded_profiles", spied)
    resolved = _resolved(falkor, settings, report)
    assert ("making the profiles here" in caplog.text) == copy_dies
    made = sum(made_here)
    assert made == resolved.profiles_after if copy_dies else 0 < made < resolved.profiles_after
    assert _resolution(falkor) == _resolution(other)


def test_a_failed_bulk_load_leaves_the_graph_empty(
    falkor: GraphWriter, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All or nothing: half a load's edges could point at the wrong nodes."""
    monkeypatch.setattr(falkordb_bulk, "_MAX_QUERY_BYTES", 2000)  # some queries sent first
    calls = 0
    add = RecordLoad.add

    def failing(self: RecordLoad, rows: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the disk is full")
        return add(self, rows)

    monkeypatch.setattr(RecordLoad, "add", failing)
    with pytest.raises(RuntimeError, match="disk is full"):
        _bulk(falkor, _records(), settings)
    assert falkor.count_of("Record") == 0
    monkeypatch.undo()
    report = _bulk(falkor, _records(), settings)  # as new: built in bulk again
    assert report.loaded is None  # (records read twice)
    assert falkor.count_of("Record") == len(_once(_records()))


def test_a_node_made_by_someone_else_stops_a_bulk_build() -> None:
    """Ids are counted on this side: a node created between two queries would
    shift every later edge."""
    sent: list[list[Any]] = []
    nodes_in_graph = [0]

    def send(args: list[Any]) -> None:
        sent.append(args)
        nodes_in_graph[0] += args[1]  # the query's nodes

    bulk = falkordb_bulk.BulkGraph(send, node_count=lambda: nodes_in_graph[0])
    bulk.label("N", ["key"])
    bulk.node("N", ["a"])
    bulk.finish()
    nodes_in_graph[0] += 1  # another's
    bulk.node("N", ["b"])
    with pytest.raises(GraphError, match="changed"):
        bulk.finish()
    assert len(sent) == 1


def test_the_next_query_is_built_while_one_goes_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine takes a query in while this side builds the next one; the
    next is sent once the first is in, with the ids counted after it."""
    monkeypatch.setattr(falkordb_bulk, "_MAX_QUERY_BYTES", 1)  # a query per node
    built_meanwhile = threading.Event()
    nodes_in_graph: list[int] = []

    def send(args: list[Any]) -> None:
        if not nodes_in_graph:  # the first query: in once the second is built
            assert built_meanwhile.wait(timeout=10)
        nodes_in_graph.append(args[1] if args[0] == "BEGIN" else args[0])

    bulk = falkordb_bulk.BulkGraph(send, node_count=lambda: sum(nodes_in_graph))
    bulk.label("N", ["key"])
    bulk.node("N", ["a"])
    bulk.flush_if_full()
    bulk.node("N", ["b"])
    built_meanwhile.set()
    bulk.flush_if_full()
    bulk.finish()
    assert nodes_in_graph == [1, 1]


def test_texts_are_encoded_at_once_as_one_at_a_time() -> None:
    """`texts_bytes` is `value_bytes` of each text or None, joined; a NUL
    inside a text is refused, not taken for an end."""
    texts = ["Zoë", None, "", "東京 🚀", "a\nb"]
    expected = b"".join(map(falkordb_bulk.value_bytes, texts))
    assert falkordb_bulk.texts_bytes(texts) == expected
    assert falkordb_bulk.texts_bytes([]) == b""
    for bad in (["ok", "a\x00b"], ["\x00"], [None, "x\x00"]):
        with pytest.raises(ValueError, match="NUL"):
            falkordb_bulk.texts_bytes(bad)


def test_adding_to_a_graph_sends_smaller_queries(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new graph's load sends queries of up to `_MAX_QUERY_BYTES`; adding to
    a graph, of up to `_ADDING_QUERY_BYTES` (the engine takes one in while the
    next is built)."""
    node = len(falkordb_bulk.value_bytes("a"))
    monkeypatch.setattr(falkordb_bulk, "_MAX_QUERY_BYTES", 4 * node)
    monkeypatch.setattr(falkordb_bulk, "_ADDING_QUERY_BYTES", 2 * node)
    assert _queries_of_eight_nodes(adding=False) == 2
    assert _queries_of_eight_nodes(adding=True) == 4


def _queries_of_eight_nodes(*, adding: bool) -> int:
    sent: list[list[Any]] = []

    def in_graph() -> int:
        return sum(args[1] if args[0] == "BEGIN" else args[0] for args in sent)

    bulk = falkordb_bulk.BulkGraph(sent.append, node_count=in_graph, adding=adding)
    bulk.label("N", ["key"])
    for _ in range(8):
        bulk.node("N", ["a"])
        bulk.flush_if_full()
    bulk.finish()
    return len(sent)


def test_an_abandoned_build_waits_for_the_query_going_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed load abandons its build before emptying the graph: a query
    still going in must land first (after, it would fill the emptied graph),
    and its own error, if any, is not raised over the load's."""
    monkeypatch.setattr(falkordb_bulk, "_MAX_QUERY_BYTES", 1)  # a query per node
    let_in = threading.Event()
    landed: list[list[Any]] = []

    def send(args: list[Any]) -> None:
        assert let_in.wait(timeout=10)
        landed.append(args)
        raise GraphError("bulk", "the engine refused it")

    bulk = falkordb_bulk.BulkGraph(send, node_count=lambda: 0)
    bulk.label("N", ["key"])
    bulk.node("N", ["a"])
    bulk.flush_if_full()
    threading.Timer(0.2, let_in.set).start()
    bulk.abandon()
    assert len(landed) == 1


def test_a_failed_index_build_is_raised_once_and_frees_the_lock(
    falkor: GraphWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Indexes that fail to build are reported by the query that waited for
    them, once; a lock held meanwhile is still released."""
    backend: Any = falkor.backend

    def failed() -> None:
        raise GraphError("schema", "an index or constraint failed")

    def write_while_building() -> None:
        with falkor.lock("test"):
            backend._building = True  # as after a bulk load
            backend.write_later(Statement("mark", "CREATE (:Mark)", {}))

    monkeypatch.setattr(backend, "_wait_operational", failed)
    with pytest.raises(GraphError, match="failed"):
        write_while_building()
    assert falkor.count_of("Mark") == 0  # not raised again; the write was not sent
    with falkor.lock("test", wait_s=0.5):
        pass


def test_a_node_made_while_a_query_goes_stops_a_bulk_build() -> None:
    """Counted after each query too: a node made while it went in shifted its
    own edges, though the count before it was right."""
    nodes_in_graph = [0]

    def send(args: list[Any]) -> None:
        nodes_in_graph[0] += args[1] + 1  # the query's nodes, and another

    bulk = falkordb_bulk.BulkGraph(send, node_count=lambda: nodes_in_graph[0])
    bulk.label("N", ["key"])
    bulk.node("N", ["a"])
    with pytest.raises(GraphError, match="changed"):
        bulk.finish()


def test_a_node_made_during_a_bulk_load_leaves_the_graph_empty(
    falkor: GraphWriter, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the real graph: a node another writer makes while a query of the
    load goes in fails the load, and nothing of it stays. The load is one
    query: no later query's count would see the node."""
    backend: Any = falkor.backend
    send = backend._send_bulk

    def send_and_meddle(args: list[Any]) -> None:
        send(args)
        backend.write(Statement("meddle", "CREATE (:Meddler {at: 1})", {}))

    monkeypatch.setattr(backend, "_send_bulk", send_and_meddle)
    with pytest.raises(GraphError, match="changed"):
        _bulk(falkor, _records(), settings)
    assert falkor.count_of("Record") == 0
    assert falkor.count_of("Meddler") == 0
