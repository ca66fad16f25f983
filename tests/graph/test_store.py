"""The graph contract: the same operations behave the same on every engine."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from directory.settings import Settings
from graph.backend import Reads, Statement
from graph.errors import GraphError
from graph.model import MatchEdge, RecordRow
from graph.schema import ensure_schema
from graph.store import GraphWriter
from tests.helpers import load, profile_of, rec


def test_schema_can_be_ensured_again(graph: GraphWriter) -> None:
    ensure_schema(graph.backend)
    ensure_schema(graph.backend)
    assert graph.backend.health()


def test_record_key_is_unique(graph: GraphWriter, settings: Settings) -> None:
    load(graph, [rec("crm", "1", "Ana", email="ana@example.com")], settings)
    load(graph, [rec("crm", "1", "Ana B", email="ana@example.com")], settings)
    rows = graph.backend.read(
        Statement(
            "count", "MATCH (r:Record {key: 'crm/1'}) RETURN count(r) AS n, r.name AS name", {}
        )
    )
    assert rows == [{"n": 1, "name": "Ana B"}]


def test_shared_identifier_links_transitively(graph: GraphWriter, settings: Settings) -> None:
    load(
        graph,
        [
            rec("crm", "1", "Ana Pérez", email="ana@example.com"),
            rec("helpdesk", "7", "Ana", email="ana@example.com", phone="+34612345678"),
            rec("calls", "9", "Ana P", phone="+34 612 34 56 78"),
            rec("crm", "2", "Luis Gómez", email="luis@example.com"),
        ],
        settings,
    )
    ana = profile_of(graph, "crm", "1")
    assert profile_of(graph, "helpdesk", "7") == ana
    assert profile_of(graph, "calls", "9") == ana
    assert profile_of(graph, "crm", "2") != ana
    stored = graph.profile(ana)
    assert stored is not None
    assert {r.key for r in stored.records} == {"crm/1", "helpdesk/7", "calls/9"}
    assert stored.display_name == "Ana Pérez"  # crm outranks helpdesk and calls
    links = sorted((r.link.rule, r.link.via) for r in stored.records)
    assert links[0] == ("seed", None)  # one record starts the profile, the others link to it
    assert {rule for rule, _ in links[1:]} == {"shared-identifier"}
    assert {via for _, via in links[1:]} <= {"email:ana@example.com", "phone:+34612345678"}


def test_a_profile_read_whole_gives_resolution_what_it_reads(
    graph: GraphWriter, settings: Settings
) -> None:
    """The online path reads candidate profiles whole with `profiles_to_match`
    instead of `profiles_for_resolution`: the same records, ids and links
    (each probabilistic link listed at one end at least)."""
    load(
        graph,
        [
            rec("crm", "1", "Ana Pérez", email="ana@example.com"),
            rec("helpdesk", "7", "Ana", email="ana@example.com"),
            rec("web", "3", None, email="ana@example.com", account="A-1"),
        ],
        settings,
    )
    ana = profile_of(graph, "crm", "1")
    # Links that point into the first record and out of it.
    edges = [MatchEdge("helpdesk/7", "crm/1", 9.0, 0.998, "test"),
             MatchEdge("crm/1", "web/3", 9.0, 0.998, "test")]  # fmt: skip
    graph.add_match_edges(edges, [], model="m", now="2026-01-01T00:00:00Z")
    whole = graph.profiles_to_match([ana], 50)[1][ana]
    read = graph.profiles_for_resolution([ana])

    def links(rows: list[RecordRow]) -> set[frozenset[str]]:
        return {frozenset((row.key, other)) for row in rows for other in row.matched}

    def plain(rows: list[RecordRow]) -> list[RecordRow]:  # ids in any order
        return sorted((replace(row, matched=(), linking_keys=tuple(sorted(row.linking_keys)))
                       for row in rows), key=lambda row: row.key)  # fmt: skip

    assert links(whole) == links(read) == {frozenset(("crm/1", "helpdesk/7")),
                                           frozenset(("crm/1", "web/3"))}  # fmt: skip
    assert plain(whole) == plain(read)
    assert graph.profiles_to_match([ana], 2)[1] == {}  # more records than asked: not whole


def test_merge_keeps_the_larger_profile_id_and_redirects(
    graph: GraphWriter, settings: Settings
) -> None:
    load(
        graph,
        [rec("crm", "1", "Ana", email="a@x.org"), rec("crm", "2", "Ana", email="a@x.org")],
        settings,
    )
    load(graph, [rec("twitter", "t1", "Ana", twitter="@ana")], settings)
    big, small = profile_of(graph, "crm", "1"), profile_of(graph, "twitter", "t1")
    report = load(graph, [rec("web", "w1", "Ana", email="a@x.org", twitter="ana")], settings)
    assert report.profiles_merged == 1
    assert profile_of(graph, "twitter", "t1") == big
    assert graph.resolve_profile_id(small) == big
    assert graph.resolve_profile_id("no-such-profile") is None


def test_weak_identifiers_never_link(graph: GraphWriter, settings: Settings) -> None:
    load(
        graph,
        [rec("web", "1", "Ana", ip="181.2.3.4"), rec("web", "2", "Luis", ip="181.2.3.4")],
        settings,
    )
    assert profile_of(graph, "web", "1") != profile_of(graph, "web", "2")


def test_lock_is_exclusive(graph: GraphWriter) -> None:
    inside = 0
    overlaps = 0

    def work() -> None:
        nonlocal inside, overlaps
        for _ in range(5):
            with graph.lock("test"):
                inside += 1
                overlaps += inside > 1
                time.sleep(0.01)
                inside -= 1

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == 0


def test_what_is_read_with_the_lock_is_read_once_it_is_held(graph: GraphWriter) -> None:
    """A holder's writes are seen by the next holder's first read, even when that
    read went out with a failed attempt to take the lock."""
    counter = Reads([Statement("count", "MATCH (s:Setting {name: 'held'}) RETURN s.value AS v",
                               {})], lambda rows: rows[0][0]["v"] if rows[0] else 0)  # fmt: skip
    bump = Statement("bump", "MERGE (s:Setting {name: 'held'}) "
                     "SET s.value = coalesce(s.value, 0) + 1", {})  # fmt: skip
    seen: list[int] = []

    def work() -> None:
        for _ in range(4):
            with graph.lock_reading("held", counter) as value:
                seen.append(value)
                time.sleep(0.01)
                graph.backend.write_later(bump)  # written at the release

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(12))


def test_lock_lease_expires_and_its_owner_renews_it(graph: GraphWriter) -> None:
    backend = graph.backend
    assert backend.take_lock("lease", "a", lease_s=0.3)
    assert not backend.take_lock("lease", "b", lease_s=0.3)
    assert backend.take_lock("lease", "a", lease_s=0.3)  # its owner renews it
    backend.release_lock("lease", "b")  # not b's to release
    assert not backend.take_lock("lease", "b", lease_s=0.3)
    time.sleep(0.5)  # a crashed owner's lease runs out
    assert backend.take_lock("lease", "b", lease_s=0.3)
    backend.release_lock("lease", "b")
    assert backend.take_lock("lease", "a", lease_s=0.3)


def test_statements_written_together_run_in_order(graph: GraphWriter) -> None:
    results = graph.backend.write(
        Statement("one", "MERGE (s:Setting {name: 'order'}) SET s.value = 'first'", {}),
        Statement("two", "MATCH (s:Setting {name: 'order'}) SET s.value = s.value + ', 2nd'", {}),
        Statement("three", "MATCH (s:Setting {name: 'order'}) RETURN s.value AS value", {}),
    )
    assert results == [[], [], [{"value": "first, 2nd"}]]


def test_a_failed_statement_among_several_is_raised(graph: GraphWriter) -> None:
    with pytest.raises(GraphError):
        graph.backend.write(
            Statement("fine", "MERGE (s:Setting {name: 'failing'}) SET s.value = 'x'", {}),
            Statement("broken", "MATCH (s:Setting {name: 'failing'}) RETURN s.value(", {}),
        )


def _value(graph: GraphWriter, name: str) -> list[dict[str, object]]:
    return graph.backend.read(
        Statement("value", "MATCH (s:Setting {name: $n}) RETURN s.value AS v", {"n": name})
    )


def test_deferred_writes_come_before_the_next_read_and_at_the_end(graph: GraphWriter) -> None:
    backend = graph.backend
    setting = "MERGE (s:Setting {name: $n}) SET s.value = $v"
    with backend.deferring_writes():
        backend.write_later(Statement("a", setting, {"n": "deferred_a", "v": 1}))
        assert _value(graph, "deferred_a") == [{"v": 1}]  # read after the write
        backend.write_later(Statement("b", setting, {"n": "deferred_b", "v": 2}))
    assert _value(graph, "deferred_b") == [{"v": 2}]  # written on the way out
    backend.write_later(Statement("c", setting, {"n": "deferred_c", "v": 3}))  # outside: at once
    assert _value(graph, "deferred_c") == [{"v": 3}]


def test_a_failed_deferred_write_is_raised_by_the_next_read(graph: GraphWriter) -> None:
    backend = graph.backend
    with backend.deferring_writes():
        backend.write_later(Statement("broken", "MATCH (s:Setting) RETURN s.value(", {}))
        with pytest.raises(GraphError):
            _value(graph, "anything")


def test_a_write_failing_at_release_is_raised_and_the_lock_released(graph: GraphWriter) -> None:
    with pytest.raises(GraphError), graph.lock("release"):
        graph.backend.write_later(Statement("broken", "MATCH (s:Setting) RETURN s.value(", {}))
    with graph.lock("release", wait_s=1):  # free at once, not after its lease
        pass


def test_text_round_trips_exactly(graph: GraphWriter, settings: Settings) -> None:
    odd = 'Zoë "Z" O\'Brien \\ back\nslash — 東京 🚀 `tick` $param'
    load(graph, [dict(rec("crm", "odd", odd, email="z@x.org"), text=odd)], settings)
    stored = graph.profile(profile_of(graph, "crm", "odd"))
    assert stored is not None
    assert (stored.records[0].name, stored.records[0].text) == (odd, odd)
