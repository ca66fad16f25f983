"""Identity-graph writes (ingest and resolution), written once in the Cypher
subset both engines run. `GraphWriter` also reads: it extends `GraphReader`.
No Cypher lives outside `graph/`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from graph.backend import Reads, Row, Statement, T
from graph.errors import GraphError
from graph.expertise import ExpertiseStore
from graph.falkordb_bulk import BulkGraph, Node, ends_bytes, texts_bytes, value_bytes
from graph.judgements import JudgementStore, review_priority
from graph.model import (
    LINKING_STRENGTHS,
    BatchStart,
    IdentifierUsage,
    LeaseEdge,
    Link,
    MatchEdge,
    MatchingRow,
    Namesakes,
    ProfileSummary,
    RecordRow,
    RecordState,
)
from graph.reader import link_from_row, settings_from, settings_statement
from graph.schema import ensure_schema

CURRENT_MODEL = "match_model"
RECORDS_CHANGED_AT = "records_changed_at"  # set by every upsert
# Ends a statement that creates or updates records: when (`directory resolve`
# is a no-op until then). Part of the write, not a statement of its own.
_MARK_CHANGED = "WITH count(*) AS n MERGE (s:Setting {name: $changed}) SET s.value = $now"
_EDGE_CHUNK = 5000
# What the match model reads of a record `r` in profile `p` by link `l`.
_MATCHING_OF_MEMBER = (
    "OPTIONAL MATCH (r)-[:HAS]->(i:Identifier) "
    "RETURN {extra}r.key AS key, r.source AS source, r.kind AS kind, r.name AS name, "
    "r.observed_at AS observed_at, r.attributes AS attributes, p.id AS profile_id, "
    "l.rule AS rule, l.via AS via, l.via_record AS via_record, "
    "collect([i.type, i.value, i.strength, i.generic, i.people]) AS identifiers ORDER BY key"
)
# The same of a record `r`, its profile found here.
_MATCHING_BODY = "OPTIONAL MATCH (r)-[l:IN]->(p:Profile) " + _MATCHING_OF_MEMBER
# What resolution reads of a record `r` in profile `p` by link `l`.
_RESOLUTION_BODY = (
    "OPTIONAL MATCH (r)-[:HAS]->(i:Identifier) "
    "WHERE i.strength IN $linking AND i.generic = false "
    "OPTIONAL MATCH (r)-[:MATCHED]-(o:Record) "
    "OPTIONAL MATCH (r)-[:LEASED]->(a:Identifier) "
    "RETURN r.key AS key, r.source AS source, r.kind AS kind, r.name AS name, "
    "r.observed_at AS observed_at, p.id AS profile_id, l.rule AS rule, l.via AS via, "
    "l.via_record AS via_record, collect(DISTINCT i.key) AS ids, "
    "collect(DISTINCT o.key) AS matched, collect(DISTINCT a.key) AS leased"
)
_LINK_GROUP = (
    "WITH p, g UNWIND g.links AS l MATCH (r:Record {key: l.record}) "
    "CREATE (r)-[:IN {rule: l.rule, via: l.via, via_record: l.via_record, linked_at: $now}]->(p)"
)


# What a record row (see `GraphWriter.upsert_records`) stores on its node
# (its attributes as JSON text).
_RECORD_TEXTS = ("key", "source", "source_id", "kind", "observed_at", "name", "search_name",
                 "text", "attributes")  # fmt: skip
_RECORD_FIELDS = (*_RECORD_TEXTS, "topics")
_IDENTIFIER_FIELDS = ("key", "type", "value", "strength")
_PAGE_OF_IDS = 100_000
_NAMES_KEPT = 64  # per identifier, as many as resolution samples (at least)


# A record as a bulk load adds it (`record_for_load`): its key, its name, its
# node's properties but the load's stamps, and per identifier its key, its
# node's properties, whether it links records, and its edge's `seen_at`.
# Plain tuples: the parsing processes make them, and they cross cheaply.
IdentifierForLoad = tuple[str, bytes, bool, bytes]
RecordForLoad = tuple[str, str | None, bytes, tuple[IdentifierForLoad, ...]]
_NOT_GENERIC = value_bytes(False)


def record_for_load(row: Mapping[str, Any]) -> RecordForLoad:
    """A record row (`GraphWriter.upsert_records`) encoded for `RecordLoad.add`:
    all of it but what the load adds (its time). Most of a bulk load's
    encoding, done beside it (`resolvers.parallel`)."""
    properties = texts_bytes([row[f] for f in _RECORD_TEXTS]) + value_bytes(row["topics"])
    identifiers = tuple(
        (ident["key"], texts_bytes([ident[f] for f in _IDENTIFIER_FIELDS]) + _NOT_GENERIC,
         ident["strength"] in LINKING_STRENGTHS, value_bytes(ident["seen_at"]))
        for ident in row["identifiers"]
    )  # fmt: skip
    return row["key"], row["name"], properties, identifiers


class RecordLoad:
    """Records going into a new graph in bulk (`GraphWriter.loading_records`),
    stored as `upsert_records` stores new ones."""

    def __init__(self, bulk: BulkGraph, now: str) -> None:
        self._bulk, self.now = bulk, now
        bulk.label("Record", [*_RECORD_FIELDS, "ingested_at", "updated_at"])
        bulk.label("Identifier", [*_IDENTIFIER_FIELDS, "generic"])
        bulk.edge_type("HAS", ["first_seen", "last_seen", "seen_at"])
        # Ingested and updated; first and last seen: the load's time.
        self._stamps = value_bytes(now) * 2
        self.records: dict[str, Node] = {}  # by key
        self._identifiers: dict[str, Node] = {}
        # Per linking identifier: how many records carry it, and the first
        # names they have (what `GraphWriter.identifier_usage` would read).
        self._carriers: dict[str, list[Any]] = {}

    def add(self, records: Sequence[RecordForLoad]) -> list[str]:
        """Add new records (`record_for_load`); the keys of those already in
        the load are returned, the records left out (to be written as updates
        once the load is in)."""
        again = []
        stamps, bulk, identifiers = self._stamps, self._bulk, self._identifiers
        for key, name, properties, carried in records:
            if key in self.records:
                again.append(key)
                continue
            record = self.records[key] = bulk.encoded_node("Record", properties + stamps)
            for ident_key, ident_properties, linking, seen_at in carried:
                node = identifiers.get(ident_key)
                if node is None:
                    node = bulk.encoded_node("Identifier", ident_properties)
                    identifiers[ident_key] = node
                if linking:
                    self._carried(ident_key, name)
                bulk.encoded_edge("HAS", record, node, stamps + seen_at)
            bulk.flush_if_full()
        return again

    def usage(self, max_names: int) -> list[IdentifierUsage]:
        """`GraphWriter.identifier_usage` of the linking identifiers two
        records or more carry, from what was loaded (none is generic yet)."""
        shared = sorted(item for item in self._carriers.items() if item[1][0] > 1)
        return [
            IdentifierUsage(key, False, carried[0], carried[1:][:max_names])
            for key, carried in shared
        ]

    def record_ids(self) -> dict[str, int]:
        """Each loaded record's node id, by key (known once the load is sent)."""
        return {key: node.id for key, node in self.records.items()}

    def node_id(self, identifier_key: str) -> int:
        """The id of a loaded identifier's node (known once the load is sent)."""
        return self._identifiers[identifier_key].id

    def _carried(self, key: str, name: str | None) -> None:
        carried = self._carriers.get(key)
        if carried is None:
            carried = self._carriers[key] = [0]
        carried[0] += 1
        if name is not None and len(carried) <= _NAMES_KEPT:
            carried.append(name)


@dataclass
class EncodedProfiles:
    """New profiles and their records' IN edges, encoded for `GRAPH.BULK`
    (`encode_profiles`) in whichever process made them: plain lists, which
    pickle and unpickle cheaply. An edge's profile node id is only known once
    the profiles are in, so its end is the profile's id until then."""

    ids: list[str] = field(default_factory=list)
    record_counts: list[int] = field(default_factory=list)
    nodes: list[bytes] = field(default_factory=list)  # a profile node's properties
    edge_records: list[int] = field(default_factory=list)  # the record's node id
    edge_profiles: list[str] = field(default_factory=list)  # the profile's id
    edge_properties: list[bytes] = field(default_factory=list)

    def extend(self, more: EncodedProfiles) -> None:
        for name, values in vars(more).items():
            getattr(self, name).extend(values)


def encode_profiles(
    summaries: Sequence[ProfileSummary],
    links: Sequence[Link],
    *,
    record_ids: Mapping[str, int],
    now: str,
) -> EncodedProfiles:
    """New profiles, as `apply_resolution` creates them, and the links of
    their records (`record_ids`: the records' node ids, by key)."""
    stamps = value_bytes(now) * 2  # created and updated
    stamp = value_bytes(now)
    alone = value_bytes(None) * 2 + stamp  # no via, no via record: most links
    rules = {rule: value_bytes(rule) for rule in {link.rule for link in links}}
    return EncodedProfiles(
        [s.id for s in summaries],
        [s.record_count for s in summaries],
        [texts_bytes([s.id, s.kind, s.display_name]) + value_bytes(s.record_count) + stamps
         for s in summaries],
        [record_ids[link.record] for link in links],
        [link.profile_id for link in links],
        [rules[link.rule] + (alone if link.via is None and link.via_record is None
                             else value_bytes(link.via) + value_bytes(link.via_record) + stamp)
         for link in links],
    )  # fmt: skip


class ResolutionLoad:
    """A first resolution added to the graph in bulk (`GraphWriter.resolution_in_bulk`):
    profiles and the records' links to them, as `apply_resolution` creates
    them, and the match edges, as `add_match_edges` stores them. The profiles
    and the match edges go first; the profiles' ids are read back, then the
    records' edges to them go."""

    def __init__(
        self,
        writer: GraphWriter,
        bulk: BulkGraph,
        *,
        model: str,
        now: str,
        record_ids: Mapping[str, int],
    ) -> None:
        self._writer, self._bulk, self.model, self.now = writer, bulk, model, now
        self.record_ids = record_ids
        bulk.label("Profile", ["id", "kind", "display_name", "record_count", "created_at",
                               "updated_at"])  # fmt: skip
        self._matches: list[tuple[str, MatchEdge]] = []
        self._in = EncodedProfiles()  # the profiles' nodes are sent as they come
        self._edges: BulkGraph | None = None

    def match_edges(self, links: Sequence[MatchEdge], review: Sequence[MatchEdge]) -> None:
        self._matches += [("MATCHED", e) for e in links] + [("REVIEW", e) for e in review]

    def add(self, encoded: EncodedProfiles) -> None:
        """New profiles and the links of their records (all of them), encoded
        (`encode_profiles`)."""
        self._bulk.encoded_nodes("Profile", encoded.nodes)
        encoded.nodes = []  # sent: only the rest is kept
        self._in.extend(encoded)

    def finish(self) -> None:
        # The match edges join records only: they go in with the profiles,
        # encoded while the engine takes the profiles in.
        self._match_edges_into(self._bulk)
        self._bulk.finish()
        encoded = self._in
        profiles = self._writer.node_ids("Profile", "id")
        edges = self._edges = self._writer.backend.more_in_bulk()
        assert edges is not None  # the engine that made the profiles
        edges.edge_type("IN", ["rule", "via", "via_record", "linked_at"])
        edges.edges_between("IN", (
            ends_bytes(record, profiles[profile]) + properties
            for record, profile, properties in zip(
                encoded.edge_records, encoded.edge_profiles, encoded.edge_properties, strict=True
            )
        ))  # fmt: skip
        edges.finish()

    def _match_edges_into(self, bulk: BulkGraph) -> None:
        records = self.record_ids
        match = ["weight", "probability", "reason", "model", "at"]
        bulk.edge_type("MATCHED", match)
        bulk.edge_type("REVIEW", [*match, "priority"])  # see `add_match_edges`
        model_now = value_bytes(self.model) + value_bytes(self.now)
        size = self._profile_sizes()
        for label in ("MATCHED", "REVIEW"):
            bulk.edges_between(label, (
                ends_bytes(records[e.left], records[e.right])
                + b"".join(map(value_bytes, (e.weight, e.probability, e.reason))) + model_now
                # a review candidate's priority, as `refresh_review` sets it
                + (value_bytes(review_priority(e.probability, size(e.left), size(e.right)))
                   if label == "REVIEW" else b"")
                for kind, e in self._matches if kind == label
            ))  # fmt: skip

    def _profile_sizes(self) -> Callable[[str], int]:
        """The record count of a review candidate's record's profile, by the record's key."""
        records, encoded = self.record_ids, self._in
        reviewed = {
            records[key]
            for label, e in self._matches
            if label == "REVIEW"
            for key in (e.left, e.right)
        }
        profile_of = {
            record: profile
            for record, profile in zip(encoded.edge_records, encoded.edge_profiles, strict=True)
            if record in reviewed
        }
        count_of = dict(zip(encoded.ids, encoded.record_counts, strict=True))
        return lambda key: count_of.get(profile_of.get(records[key], ""), 1)

    def abandon(self) -> None:
        """Wait for what is going in (the resolution failed: no query of it
        may land after the failure is reported)."""
        for bulk in (self._bulk, self._edges):
            if bulk is not None:
                bulk.abandon()


class GraphWriter(JudgementStore, ExpertiseStore):
    """Reads plus the writes of ingest, resolution and the stewards' actions."""

    def _write(self, name: str, cypher: str, /, **params: Any) -> list[Row]:
        return self.backend.write(Statement(name, cypher, params))[0]

    def _write_later(self, name: str, cypher: str, /, **params: Any) -> None:
        self.backend.write_later(Statement(name, cypher, params))

    @contextmanager
    def lock(self, name: str, *, lease_s: float = 120.0, wait_s: float = 300.0) -> Iterator[None]:
        """A lease lock kept by the graph's engine, so every process on the graph
        is serialised (a key beside the graph on FalkorDB, a node on Neo4j)."""
        with self.lock_reading(name, Reads([], lambda _: None), lease_s=lease_s, wait_s=wait_s):
            yield

    @contextmanager
    def lock_reading(
        self, name: str, reads: Reads[T], *, lease_s: float = 120.0, wait_s: float = 300.0
    ) -> Iterator[T]:
        """`lock`, yielding what `reads` read as the lock was taken (in the same
        round trip on FalkorDB). Writes inside wait for the next query (see
        `deferring_writes`); what is left goes with the release."""
        owner = uuid.uuid4().hex
        deadline = time.monotonic() + wait_s
        rows = self.backend.take_lock_and_read(name, owner, lease_s, reads.statements)
        while rows is None:  # held: wait for it, then read once
            if time.monotonic() > deadline:
                raise GraphError("lock", f"lock {name!r} still held after {wait_s:.0f} s")
            time.sleep(0.005)
            rows = self.backend.take_lock_and_read(name, owner, lease_s, [])
            if rows is not None and reads.statements:
                rows = self.backend.read_many(*reads.statements)
        with self.backend.deferring_writes():
            try:
                yield reads.result(rows)
            finally:  # writes what is deferred (in the same round trip on FalkorDB)
                self.backend.release_lock(name, owner)

    def record_state(self, keys: Sequence[str]) -> dict[str, RecordState]:
        """For records already stored: their profile, link and identifier keys."""
        return _record_states(self.backend.read(_record_state(keys)))

    def batch_start(
        self,
        settings: Sequence[str],
        keys: Sequence[str],
        *,
        name_queries: Mapping[str, str] | None = None,
        limit: int = 0,
        identifier_keys: Sequence[str] = (),
    ) -> Reads[BatchStart]:
        """What an ingest batch reads first (with its lock: `lock_reading`): the
        settings named; the stored state of the records `keys`; with
        `name_queries` (record key -> full-text query), each record's namesakes
        (see `rows_and_name_candidates`); and whether the identifiers
        `identifier_keys` that are stored are generic, and how many people carry them."""
        statements = [settings_statement(settings), _record_state(keys)]
        if name_queries:
            statements.append(self._name_candidates(name_queries, limit))
        if identifier_keys:
            statements.append(_sharing(identifier_keys))

        def result(rows: list[list[Row]]) -> BatchStart:
            stored, state, *more = rows
            namesakes = _namesakes(more.pop(0)) if name_queries else None
            sharing = {r["key"]: (bool(r["generic"]), r["people"]) for r in more[0]} if more else {}
            return BatchStart(settings_from(stored), _record_states(state), namesakes, sharing)

        return Reads(statements, result)

    def upsert_records(
        self,
        rows: Sequence[dict[str, Any]],
        *,
        existing: Set[str],
        now: str,
        prepared_rows: object | None = None,
    ) -> None:
        """Create new records with their identifiers; update `existing` ones, dropping
        the identifiers they lost.

        Each row: key, source, source_id, kind, observed_at, name, text, topics,
        attributes (JSON text) and identifiers: [{key, type, value, strength, seen_at}].
        Callers hold the resolution lock, so `existing` is still true when this runs.
        `prepared_rows`, when given, is `backend.prepared(rows)`, sent when every
        row is new.
        """
        fresh = [row for row in rows if row["key"] not in existing]
        updated = [row for row in rows if row["key"] in existing]
        statements = []
        if fresh:
            all_new = prepared_rows is not None and not updated
            statements.append(self._create_records(prepared_rows if all_new else fresh, now))
        if updated:
            statements.extend(self._update_records(updated, now))
        if statements:
            self.backend.write_later(*statements)

    @contextmanager
    def loading_records(self, now: str) -> Iterator[RecordLoad | None]:
        """A bulk load of records into a new graph, when the engine can build
        one and the graph holds no node yet (None otherwise: write them with
        `upsert_records`). The schema is made once the records are in: its
        indexes are still being built when this returns, and this backend's next
        query waits for them. If the load fails, the graph is left empty, as it was."""
        bulk = self.backend.new_graph_in_bulk()
        if bulk is None:
            yield None
            return
        load = RecordLoad(bulk, now)
        try:
            yield load
            bulk.finish()
        except BaseException:
            # All or nothing: half a load's edges could point anywhere. The
            # query going in, if any, lands first (even through a Ctrl-C).
            try:
                bulk.abandon()
            finally:
                self.backend.discard_graph()
                ensure_schema(self.backend)
            raise
        # The caller's Python work goes on while the engine indexes the records;
        # its next query waits for the indexes (and writes what waits here).
        ensure_schema(self.backend, in_background=True)
        if load.records:
            self.backend.write_later(self._set_setting(RECORDS_CHANGED_AT, now))

    @contextmanager
    def resolution_in_bulk(
        self, *, model: str, now: str, record_ids: Mapping[str, int] | None = None
    ) -> Iterator[ResolutionLoad | None]:
        """A first resolution (no profile and no match edge in the graph yet),
        added in bulk when the engine can (None otherwise: write it with
        statements). A failure leaves part of it written: the next `directory
        resolve` redoes it. `record_ids`: the records' node ids by key, when
        known (`RecordLoad.record_ids` while no record was written since):
        else read (1.5 s a million)."""
        bulk = self.backend.more_in_bulk()
        if bulk is None or self.count_of("Profile") or self._any_match_edge():
            yield None
            return
        if record_ids is None:
            record_ids = self.node_ids("Record", "key")
        load = ResolutionLoad(self, bulk, model=model, now=now, record_ids=record_ids)
        try:
            yield load
            load.finish()
        except BaseException:
            load.abandon()
            raise
        # With the load before it, most of the graph was just written: its log
        # is compacted while the command ends, not after (`compact_log`).
        self.backend.start_compacting_log()

    def _any_match_edge(self) -> bool:
        # Counted by type without labels: the engines read the count they
        # keep (instant), where looking for one walked a million records (19 s).
        return any(
            self._read(f"count_{kind}", f"MATCH ()-[m:{kind}]->() RETURN count(m) AS n")[0]["n"]
            for kind in ("MATCHED", "REVIEW")
        )

    def node_ids(self, label: str, key: str) -> dict[str, int]:
        """Each `label` node's internal id, by its `key` property (read by id
        ranges: a range seek each)."""
        span = self._id_span(label)
        found: dict[str, int] = {}
        if span is None:
            return found
        for lo in range(span[0], span[1] + 1, _PAGE_OF_IDS):
            [page] = self._read(  # two lists: a fraction of the time of rows
                f"{label.lower()}_ids",
                f"MATCH (n:{label}) WHERE id(n) >= $lo AND id(n) < $hi "
                f"RETURN collect(n.{key}) AS keys, collect(id(n)) AS nodes",
                lo=lo,
                hi=lo + _PAGE_OF_IDS,
            )
            found.update(zip(page["keys"], page["nodes"], strict=True))
        return found

    @staticmethod
    def _create_records(rows: object, now: str) -> Statement:
        # CREATE, not MERGE: one pass, no lookups of records that cannot exist.
        fields = ", ".join(f"{name}: row.{name}" for name in _RECORD_FIELDS)
        return Statement(
            "create_records",
            f"UNWIND $rows AS row CREATE (r:Record {{{fields}, "
            "ingested_at: $now, updated_at: $now}) "
            "WITH r, row UNWIND row.identifiers AS ident "
            "MERGE (i:Identifier {key: ident.key}) ON CREATE SET i.type = ident.type, "
            "i.value = ident.value, i.strength = ident.strength, i.generic = false "
            "CREATE (r)-[:HAS {first_seen: $now, last_seen: $now, seen_at: ident.seen_at}]->(i) "
            + _MARK_CHANGED,
            {"rows": rows, "now": now, "changed": RECORDS_CHANGED_AT},
        )

    @staticmethod
    def _update_records(rows: Sequence[dict[str, Any]], now: str) -> list[Statement]:
        return [
            Statement(
                "update_records",
                "UNWIND $rows AS row MATCH (r:Record {key: row.key}) "
                "SET r.source = row.source, r.source_id = row.source_id, r.kind = row.kind, "
                "r.observed_at = row.observed_at, r.name = row.name, "
                "r.search_name = row.search_name, r.text = row.text, r.topics = row.topics, "
                "r.attributes = row.attributes, r.updated_at = $now " + _MARK_CHANGED,
                {"rows": [_record_props(row) for row in rows], "now": now,
                 "changed": RECORDS_CHANGED_AT},
            ),
            Statement(
                "drop_lost_identifiers",
                "UNWIND $rows AS row MATCH (r:Record {key: row.key})-[h:HAS]->(i:Identifier) "
                "WHERE NOT i.key IN row.ids DELETE h",
                {"rows": [{"key": row["key"], "ids": [i["key"] for i in row["identifiers"]]}
                          for row in rows]},
            ),
            Statement(
                "upsert_identifiers",
                "UNWIND $ids AS ident MERGE (i:Identifier {key: ident.key}) "
                "ON CREATE SET i.type = ident.type, i.value = ident.value, "
                "i.strength = ident.strength, i.generic = false "
                "WITH i, ident MATCH (r:Record {key: ident.record}) "
                "MERGE (r)-[h:HAS]->(i) ON CREATE SET h.first_seen = $now "
                "SET h.last_seen = $now, h.seen_at = ident.seen_at",
                {"ids": [dict(i, record=row["key"]) for row in rows for i in row["identifiers"]],
                 "now": now},
            ),
            # Recomputed after the upsert from the IPs the records carry now.
            _drop_leases([row["key"] for row in rows]),
        ]  # fmt: skip

    def mark_leased(self, ip_keys: Sequence[str]) -> None:
        """Mark IPs that a source authoritative for IPs saw (`ip_sightings` reads those)."""
        self._write_later(
            "mark_leased",
            "UNWIND $keys AS k MATCH (i:Identifier {key: k}) SET i.leased = true",
            keys=list(ip_keys),
        )

    def leases_of(self, keys: Sequence[str]) -> dict[str, str]:
        """The account each record is attributed to by an IP lease (those that are)."""
        rows = self._read(
            "leases_of",
            "UNWIND $keys AS k MATCH (:Record {key: k})-[:LEASED]->(a:Identifier) "
            "RETURN k AS key, a.key AS account",
            keys=list(keys),
        )
        return {row["key"]: row["account"] for row in rows}

    def all_leases(self) -> dict[str, str]:
        """Every record's lease attribution (for the batch executor)."""
        rows = self._read(
            "all_leases",
            "MATCH (r:Record)-[:LEASED]->(a:Identifier) RETURN r.key AS key, a.key AS account",
        )
        return {row["key"]: row["account"] for row in rows}

    def set_leases(self, keys: Sequence[str], edges: Sequence[LeaseEdge]) -> None:
        """Replace the lease attributions of `keys` with `edges`."""
        self.backend.write_later(
            _drop_leases(keys),
            Statement(
                "create_leases",
                "UNWIND $edges AS e MATCH (r:Record {key: e.record}) "
                "MATCH (a:Identifier {key: e.account}) "
                "CREATE (r)-[:LEASED {ip: e.ip, seen_at: e.seen_at, lease_record: e.lease_record, "
                "lease_seen_at: e.lease_seen_at}]->(a)",
                {"edges": [vars(edge) for edge in edges]},
            ),
        )

    def identifier_usage(self, keys: Iterable[str], max_names: int) -> list[IdentifierUsage]:
        """For linking identifiers shared by 2+ records (or marked generic): how many
        records carry them, and some of their names."""
        rows = self._read(
            "identifier_usage",
            "UNWIND $keys AS k MATCH (i:Identifier {key: k})<-[:HAS]-(r:Record) "
            "WHERE i.strength IN $linking "
            "WITH i, count(r) AS n, collect(r.name) AS names WHERE n > 1 OR i.generic "
            "RETURN i.key AS key, i.generic AS generic, n, names[..$max_names] AS names, "
            "i.people AS people",
            keys=list(keys),
            linking=LINKING_STRENGTHS,
            max_names=max_names,
        )
        return [IdentifierUsage(r["key"], bool(r["generic"]), r["n"], r["names"], r["people"])
                for r in rows]  # fmt: skip

    def set_generic(self, people_by_key: dict[str, tuple[bool, int]]) -> None:
        """Mark identifiers generic (or not) with the number of people seen on them."""
        self._write_later(
            "set_generic",
            "UNWIND $rows AS row MATCH (i:Identifier {key: row.key}) "
            "SET i.generic = row.generic, i.people = row.people",
            rows=[{"key": k, "generic": g, "people": n} for k, (g, n) in people_by_key.items()],
        )

    def profiles_carrying(self, identifier_keys: Sequence[str]) -> set[str]:
        """Profiles of the records that carry any of the identifiers."""
        rows = self._read(
            "profiles_carrying",
            # WITH between the steps keeps FalkorDB's planner on the identifier index.
            "UNWIND $keys AS k MATCH (:Identifier {key: k})<-[:HAS]-(r:Record) "
            "WITH DISTINCT r MATCH (r)-[:IN]->(p:Profile) RETURN DISTINCT p.id AS id",
            keys=list(identifier_keys),
        )
        return {row["id"] for row in rows}

    def profile_record_pairs(self, profile_ids: Iterable[str]) -> list[tuple[str, str]]:
        """(record key, profile id) of every record of the given profiles."""
        rows = self._read(
            "profile_record_pairs",
            "UNWIND $ids AS pid MATCH (:Profile {id: pid})<-[:IN]-(r:Record) "
            "RETURN r.key AS key, pid",
            ids=list(profile_ids),
        )
        return [(row["key"], row["pid"]) for row in rows]

    def records_for_resolution(self, keys: Sequence[str]) -> list[RecordRow]:
        """What resolution needs of each record: who it is and what may link it."""
        rows = self._read(
            "records_for_resolution",
            "UNWIND $keys AS k MATCH (r:Record {key: k}) "
            "OPTIONAL MATCH (r)-[l:IN]->(p:Profile) " + _RESOLUTION_BODY,
            keys=list(keys),
            linking=LINKING_STRENGTHS,
        )
        return [_record_row(r) for r in rows]

    def profiles_for_resolution(self, profile_ids: Iterable[str]) -> list[RecordRow]:
        """`records_for_resolution` of every record of the given profiles."""
        rows = self._read(
            "profiles_for_resolution",
            "UNWIND $ids AS pid MATCH (p:Profile {id: pid})<-[l:IN]-(r:Record) " + _RESOLUTION_BODY,
            ids=list(profile_ids),
            linking=LINKING_STRENGTHS,
        )
        return [_record_row(r) for r in rows]

    def record_id_span(self) -> tuple[int, int] | None:
        """The lowest and highest internal id of a record (None: no records)."""
        return self._id_span("Record")

    def _id_span(self, label: str) -> tuple[int, int] | None:
        cypher = f"MATCH (n:{label}) RETURN min(id(n)) AS lo, max(id(n)) AS hi"
        rows = self._read(f"{label.lower()}_id_span", cypher)
        return None if not rows or rows[0]["lo"] is None else (rows[0]["lo"], rows[0]["hi"])

    def matching_page(self, lo: int, hi: int) -> list[MatchingRow]:
        """The records with internal ids in [lo, hi), with what the match model
        compares. Paging by id is a range seek; paging by key would sort every
        remaining record for each page (quadratic on a big graph)."""
        rows = self._read(
            "matching_page",
            "MATCH (r:Record) WHERE id(r) >= $lo AND id(r) < $hi "
            + _MATCHING_BODY.format(extra=""),
            lo=lo,
            hi=hi,
        )
        return [_matching_row(r) for r in rows]

    def matching_rows(self, keys: Sequence[str]) -> list[MatchingRow]:
        """Given records (those that exist), with what the match model compares."""
        return [_matching_row(r) for r in self.backend.read(_matching_rows(keys))]

    def profile_matching_rows(self, profile_ids: Iterable[str], limit: int) -> list[MatchingRow]:
        """`matching_rows` of the first `limit` records (by key) of each profile."""
        return self.profiles_to_match(profile_ids, limit)[0]

    def profiles_to_match(
        self, profile_ids: Iterable[str], limit: int
    ) -> tuple[list[MatchingRow], dict[str, list[RecordRow]]]:
        """`matching_rows` of the first `limit` records (by key) of each profile,
        and `profiles_for_resolution` of the profiles that have no more than
        `limit` records (read whole, then): one query."""
        rows = self._read(
            "profiles_to_match",
            "UNWIND $ids AS pid MATCH (p:Profile {id: pid})<-[l:IN]-(r:Record) "
            "WITH p, l, r ORDER BY r.key WITH p, collect([l, r]) AS members "
            "WITH p, size(members) AS total, members[..$limit] AS found UNWIND found AS m "
            "WITH p, total, m[0] AS l, m[1] AS r "
            # Outgoing links only (one traversal, not two): a profile read whole
            # lists each link between its records at the link's start, which is
            # all resolution needs (`resolvers.deterministic` pairs them both ways).
            "WITH p, l, total, r, [(r)-[:MATCHED]->(o:Record) | o.key] AS matched, "
            "[(r)-[:LEASED]->(a:Identifier) | a.key] AS leased "
            + _MATCHING_OF_MEMBER.format(
                extra="total AS total, matched AS matched, leased AS leased, "
            ),
            ids=list(profile_ids),
            limit=limit,
        )
        matching = [_matching_row(r) for r in rows]
        whole: dict[str, list[RecordRow]] = {}
        for row, found in zip(rows, matching, strict=True):
            if found.profile_id and row["total"] <= limit:
                whole.setdefault(found.profile_id, []).append(
                    found.for_resolution(
                        matched=tuple(sorted(set(row["matched"]))), leased=tuple(row["leased"])
                    )
                )
        return matching, whole

    def rows_and_name_candidates(
        self, keys: Sequence[str], queries: dict[str, str], limit: int
    ) -> tuple[list[MatchingRow], Namesakes]:
        """`matching_rows(keys)`, and for each record key in `queries` up to
        `limit` other records whose names match its full-text query (folded
        words, all required), best first, with those records' matching rows:
        all in one round trip."""
        if not queries:
            return self.matching_rows(keys), Namesakes({}, [])
        rows, candidates = self.backend.read_many(
            _matching_rows(keys), self._name_candidates(queries, limit)
        )
        return [_matching_row(r) for r in rows], _namesakes(candidates)

    def _name_candidates(self, queries: Mapping[str, str], limit: int) -> Statement:
        call = self.backend.dialect.fulltext_query.format(
            label="Record", prop="search_name", query="q.text"
        )
        return Statement(
            "name_candidates",
            f"UNWIND $queries AS q {call} WITH q, node, score WHERE node.key <> q.key "
            "WITH q, node ORDER BY score DESC WITH q, collect(node)[..$limit] AS found "
            "UNWIND found AS r " + _MATCHING_BODY.format(extra="q.key AS query, "),
            {"queries": [{"key": k, "text": text} for k, text in queries.items()], "limit": limit},
        )

    def replace_match_edges(
        self, links: Sequence[MatchEdge], review: Sequence[MatchEdge], *, model: str, now: str
    ) -> None:
        """Drop every probabilistic link and review candidate; store these instead."""
        self.backend.write(
            Statement("drop_matches", "MATCH (:Record)-[m:MATCHED]->(:Record) DELETE m", {}),
            Statement("drop_reviews", "MATCH (:Record)-[m:REVIEW]->(:Record) DELETE m", {}),
        )
        self.add_match_edges(links, review, model=model, now=now)

    def add_match_edges(
        self, links: Sequence[MatchEdge], review: Sequence[MatchEdge], *, model: str, now: str
    ) -> None:
        """Store probabilistic links and review candidates (a pair stored again is updated)."""
        for label, edges in (("MATCHED", links), ("REVIEW", review)):
            for start in range(0, len(edges), _EDGE_CHUNK):
                rows = [vars(e) for e in edges[start : start + _EDGE_CHUNK]]
                self._write_later(
                    f"merge_{label.lower()}",
                    "UNWIND $rows AS e MATCH (a:Record {key: e.left}) "
                    f"MATCH (b:Record {{key: e.right}}) MERGE (a)-[m:{label}]->(b) "
                    "SET m.weight = e.weight, m.probability = e.probability, "
                    "m.reason = e.reason, m.model = $model, m.at = $now"
                    # a review candidate is ranked by probability until
                    # `refresh_review` sees its profiles
                    + (", m.priority = e.probability" if label == "REVIEW" else ""),
                    rows=rows,
                    model=model,
                    now=now,
                )

    def match_edges(self, keys: Sequence[str]) -> list[MatchEdge]:
        """The probabilistic links of some records (either end)."""
        rows = self._read(
            "match_edges",
            "UNWIND $keys AS k MATCH (a:Record {key: k})-[m:MATCHED]-(b:Record) "
            "RETURN DISTINCT startNode(m).key AS left, endNode(m).key AS right, "
            "m.weight AS weight, m.probability AS probability, m.reason AS reason",
            keys=list(keys),
        )
        return [MatchEdge(**row) for row in rows]

    def set_setting(self, name: str, value: str) -> None:
        self.backend.write(self._set_setting(name, value))

    def save_match_model(self, version: str, body: str, trained_at: str) -> None:
        """Store a trained model (kept, never overwritten) and make it current."""
        self._write(
            "save_match_model",
            "MERGE (m:MatchModel {version: $version}) SET m.body = $body, "
            "m.trained_at = $trained_at",
            version=version,
            body=body,
            trained_at=trained_at,
        )
        self.set_setting(CURRENT_MODEL, version)

    def current_match_model(self) -> str | None:
        """The current model's JSON body, or None before the first training."""
        version = self.setting(CURRENT_MODEL)
        if version is None:
            return None
        rows = self._read(
            "match_model",
            "MATCH (m:MatchModel {version: $version}) RETURN m.body AS body",
            version=version,
        )
        return rows[0]["body"] if rows else None

    def records_changed_since(self, moment: str) -> bool:
        """Whether any record was created or updated after `moment`."""
        changed = self.setting(RECORDS_CHANGED_AT)
        return changed is not None and changed > moment

    def apply_resolution(
        self,
        *,
        created: Set[str],
        summaries: Sequence[ProfileSummary],
        links: Sequence[Link],
        linked_before: Set[str],
        retired: dict[str, str],
        now: str,
    ) -> None:
        """Write a resolution: profiles (new ones created) with their summaries and
        changed links, old links removed, redirects for retired profiles."""
        by_profile: dict[str, list[dict[str, Any]]] = {s.id: [] for s in summaries}
        for link in links:
            by_profile[link.profile_id].append(_link_props(link))
        groups = [
            {"id": s.id, "kind": s.kind, "display_name": s.display_name,
             "record_count": s.record_count, "links": by_profile[s.id]}
            for s in summaries
        ]  # fmt: skip
        statements = [
            Statement(
                "unlink_records",
                "UNWIND $keys AS k MATCH (:Record {key: k})-[l:IN]->(:Profile) DELETE l",
                {"keys": [link.record for link in links if link.record in linked_before]},
            ),
            Statement(
                "create_profiles",
                "UNWIND $groups AS g CREATE (p:Profile {id: g.id, kind: g.kind, "
                "display_name: g.display_name, record_count: g.record_count, "
                f"created_at: $now, updated_at: $now}}) {_LINK_GROUP}",
                {"groups": [g for g in groups if g["id"] in created], "now": now},
            ),
            Statement(
                "update_profiles",
                "UNWIND $groups AS g MATCH (p:Profile {id: g.id}) "
                # A steward's name override wins; a retired profile taken again revives.
                "SET p.kind = g.kind, p.display_name = coalesce(p.name_override, g.display_name), "
                "p.record_count = g.record_count, p.updated_at = $now, p.merged_into = null "
                f"{_LINK_GROUP}",
                {"groups": [g for g in groups if g["id"] not in created], "now": now},
            ),
            Statement(
                "retire_profiles",
                "UNWIND $rows AS row MATCH (p:Profile {id: row.id}) "
                "SET p.merged_into = row.into, p.record_count = 0, p.updated_at = $now",
                {"rows": [{"id": k, "into": v} for k, v in retired.items()], "now": now},
            ),
        ]
        # Each UNWINDs one list: an empty one would be a round trip for nothing.
        needed = [
            s for s in statements if any(isinstance(v, list) and v for v in s.params.values())
        ]
        if needed:
            self.backend.write_later(*needed)

    def create_api_key(self, *, key_hash: str, role: str, name: str, now: str) -> None:
        """Store a new API key by its hash."""
        self._write(
            "create_api_key",
            "CREATE (:ApiKey {hash: $hash, role: $role, name: $name, created_at: $now})",
            hash=key_hash,
            role=role,
            name=name,
            now=now,
        )


def _record_state(keys: Sequence[str]) -> Statement:
    return Statement(
        "record_state",
        "UNWIND $keys AS k MATCH (r:Record {key: k}) "
        "OPTIONAL MATCH (r)-[l:IN]->(p:Profile) "
        "OPTIONAL MATCH (r)-[:HAS]->(i:Identifier) "
        "RETURN k AS key, p.id AS profile_id, l.rule AS rule, l.via AS via, "
        "l.via_record AS via_record, collect(i.key) AS identifiers",
        {"keys": list(keys)},
    )


def _record_states(rows: list[Row]) -> dict[str, RecordState]:
    return {
        row["key"]: RecordState(
            profile_id=row["profile_id"],
            link=link_from_row(row) if row["profile_id"] else None,
            identifier_keys=frozenset(row["identifiers"]),
        )
        for row in rows
    }


def _matching_rows(keys: Sequence[str]) -> Statement:
    return Statement(
        "matching_rows",
        "UNWIND $keys AS k MATCH (r:Record {key: k}) " + _MATCHING_BODY.format(extra=""),
        {"keys": list(keys)},
    )


def _namesakes(rows: list[Row]) -> Namesakes:
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["query"], []).append(row["key"])
    unique = {row["key"]: _matching_row(row) for row in rows}
    return Namesakes(found, list(unique.values()))


def _sharing(identifier_keys: Sequence[str]) -> Statement:
    return Statement(
        "identifier_sharing",
        "UNWIND $keys AS k MATCH (i:Identifier {key: k}) "
        "RETURN k AS key, i.generic AS generic, i.people AS people",
        {"keys": list(identifier_keys)},
    )


def _record_row(r: Row) -> RecordRow:
    return RecordRow(
        r["key"],
        r["source"],
        r["kind"],
        r["name"],
        r["observed_at"],
        r["profile_id"],
        tuple(r["ids"]),
        link_from_row(r) if r["profile_id"] else None,
        tuple(r["matched"]),
        tuple(r["leased"]),
    )


def _matching_row(r: Row) -> MatchingRow:
    return MatchingRow(
        key=r["key"],
        source=r["source"],
        kind=r["kind"],
        name=r["name"],
        observed_at=r["observed_at"],
        attributes=json.loads(r["attributes"] or "{}"),
        profile_id=r["profile_id"],
        link=link_from_row(r) if r["profile_id"] else None,
        identifiers=[
            (t, v, strength, bool(generic), people)
            for t, v, strength, generic, people in r["identifiers"]
            if t is not None
        ],
    )


def _record_props(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "identifiers"}


def _link_props(link: Link) -> dict[str, Any]:
    return {
        "record": link.record,
        "rule": link.rule,
        "via": link.via,
        "via_record": link.via_record,
    }


def _drop_leases(keys: Sequence[str]) -> Statement:
    return Statement(
        "drop_leases",
        "UNWIND $keys AS k MATCH (:Record {key: k})-[l:LEASED]->() DELETE l",
        {"keys": list(keys)},
    )
