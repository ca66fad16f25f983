"""Identity-graph operations, written once in the Cypher subset both engines run.

`GraphReader` is the read-only view that lookups get; `GraphWriter` adds the
writes that ingest and resolution make. No Cypher lives outside `graph/`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence, Set
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from graph.backend import GraphBackend, Row, Statement
from graph.errors import GraphError

# Identifier strengths whose values link records on their own (resolvers.model.Strength).
LINKING_STRENGTHS = ["strong", "medium"]
_MAX_REDIRECTS = 32
# Everything of profile `p`: one row per record, its identifiers collected.
_PROFILE_BODY = (
    "MATCH (p)<-[l:IN]-(r:Record) OPTIONAL MATCH (r)-[h:HAS]->(i:Identifier) "
    "RETURN p.id AS pid, p.kind AS kind, p.display_name AS display_name, "
    "p.created_at AS created_at, p.updated_at AS updated_at, "
    "r.key AS key, r.source AS source, r.source_id AS source_id, r.kind AS rkind, "
    "r.observed_at AS observed_at, r.name AS name, r.text AS text, "
    "r.topics AS topics, r.attributes AS attributes, "
    "r.ingested_at AS ingested_at, r.updated_at AS rupdated_at, "
    "l.rule AS rule, l.via AS via, l.via_record AS via_record, "
    "collect([i.type, i.value, i.strength, i.generic, i.people, "
    "h.seen_at, h.first_seen, h.last_seen]) AS identifiers"
)
# Links a profile `p` to the records of its group `g` (profile first: one lookup).
_LINK_GROUP = (
    "WITH p, g UNWIND g.links AS l MATCH (r:Record {key: l.record}) "
    "CREATE (r)-[:IN {rule: l.rule, via: l.via, via_record: l.via_record, linked_at: $now}]->(p)"
)


@dataclass(frozen=True)
class RecordRow:
    """A record as stored, with the keys of its identifiers that may link it."""

    key: str
    source: str
    kind: str
    name: str | None
    observed_at: str | None
    profile_id: str | None
    linking_keys: tuple[str, ...]
    link: Link | None = None


@dataclass(frozen=True)
class RecordState:
    """What is stored of a record before an update."""

    profile_id: str | None
    link: Link | None
    identifier_keys: frozenset[str]


@dataclass(frozen=True)
class IdentifierUsage:
    """Who carries an identifier: its record count and (some of) their names."""

    key: str
    generic: bool
    records: int
    names: list[str]


@dataclass(frozen=True)
class Link:
    """Why a record belongs to its profile."""

    record: str
    profile_id: str
    rule: str
    via: str | None = None
    via_record: str | None = None


@dataclass(frozen=True)
class ProfileSummary:
    """The derived fields stored on a profile node."""

    id: str
    kind: str
    display_name: str | None
    record_count: int


@dataclass
class StoredIdentifier:
    type: str
    value: str
    strength: str
    generic: bool
    people: int | None
    seen_at: str | None
    first_seen: str | None
    last_seen: str | None


@dataclass
class StoredRecord:
    key: str
    source: str
    source_id: str
    kind: str
    observed_at: str | None
    name: str | None
    text: str | None
    topics: list[str]
    attributes: dict[str, str]
    ingested_at: str | None
    updated_at: str | None
    link: Link
    identifiers: list[StoredIdentifier] = field(default_factory=list)


@dataclass
class StoredProfile:
    id: str
    kind: str
    display_name: str | None
    created_at: str | None
    updated_at: str | None
    records: list[StoredRecord]


class GraphReader:
    """Read-only operations, for lookups."""

    def __init__(self, backend: GraphBackend) -> None:
        self.backend = backend

    def _read(self, name: str, cypher: str, /, **params: Any) -> list[Row]:
        return self.backend.read(Statement(name, cypher, params))

    def resolve_profile_id(self, profile_id: str) -> str | None:
        """Follow merge redirects to the profile an id lives on as, or None."""
        current = profile_id
        for _ in range(_MAX_REDIRECTS):
            rows = self._read(
                "profile_redirect",
                "MATCH (p:Profile {id: $id}) RETURN p.merged_into AS merged_into",
                id=current,
            )
            if not rows:
                return None
            target = rows[0]["merged_into"]
            if not target:
                return current
            current = target
        raise GraphError("profile_redirect", f"redirect loop from profile {profile_id}")

    def profile(self, profile_id: str) -> StoredProfile | None:
        """A live profile with every record, identifier and link, or None."""
        rows = self._read(
            "profile", f"MATCH (p:Profile {{id: $id}}) {_PROFILE_BODY}", id=profile_id
        )
        return next(iter(_stored_profiles(rows)), None)

    def profiles_carrying_identifier(self, key: str, limit: int) -> list[StoredProfile]:
        """Up to `limit` whole profiles whose records carry an identifier, in one query."""
        rows = self._read(
            "profiles_carrying_identifier",
            "MATCH (:Identifier {key: $key})<-[:HAS]-(:Record)-[:IN]->(p:Profile) "
            f"WITH DISTINCT p LIMIT $limit {_PROFILE_BODY}",
            key=key,
            limit=limit,
        )
        return _stored_profiles(rows)

    def search_names(self, query: str, limit: int) -> list[str]:
        """Live profile ids whose records' names match a full-text query, best first."""
        call = self.backend.dialect.fulltext_query.format(label="Record", prop="name")
        rows = self._read(
            "search_names",
            f"{call} MATCH (node)-[:IN]->(p:Profile) "
            "RETURN p.id AS id, max(score) AS score ORDER BY score DESC, id LIMIT $limit",
            query=query,
            limit=limit,
        )
        return [row["id"] for row in rows]

    def record_assignments(self, after: str, limit: int) -> list[Row]:
        """A page of (source, source_id, profile_id), in record-key order."""
        return self._read(
            "record_assignments",
            "MATCH (r:Record)-[:IN]->(p:Profile) WHERE r.key > $after "
            "RETURN r.key AS key, r.source AS source, r.source_id AS source_id, "
            "p.id AS profile_id ORDER BY key LIMIT $limit",
            after=after,
            limit=limit,
        )

    def counts(self) -> dict[str, int]:
        """How many records, identifiers and live profiles the graph holds."""
        counts = {}
        for label in ("Record", "Identifier"):
            rows = self._read(f"count_{label}", f"MATCH (n:{label}) RETURN count(n) AS n")
            counts[label.lower() + "s"] = int(rows[0]["n"])
        rows = self._read(
            "count_profiles",
            "MATCH (p:Profile) WHERE p.merged_into IS NULL RETURN count(p) AS n",
        )
        counts["profiles"] = int(rows[0]["n"])
        return counts

    def api_key_role(self, key_hash: str) -> str | None:
        """The role of an API key by its hash, or None when unknown or revoked."""
        rows = self._read(
            "api_key",
            "MATCH (k:ApiKey {hash: $hash}) WHERE k.revoked_at IS NULL RETURN k.role AS role",
            hash=key_hash,
        )
        return rows[0]["role"] if rows else None


class GraphWriter(GraphReader):
    """Reads plus the writes of ingest and resolution."""

    def _write(self, name: str, cypher: str, /, **params: Any) -> list[Row]:
        return self.backend.write(Statement(name, cypher, params))[0]

    @contextmanager
    def lock(self, name: str, *, lease_s: float = 120.0, wait_s: float = 300.0) -> Iterator[None]:
        """A lease lock stored in the graph, so every process on it is serialised."""
        owner = uuid.uuid4().hex
        deadline = time.monotonic() + wait_s
        while not self._take_lock(name, owner, lease_s):
            if time.monotonic() > deadline:
                raise GraphError("lock", f"lock {name!r} still held after {wait_s:.0f} s")
            time.sleep(0.005)
        try:
            yield
        finally:
            self._write(
                "unlock",
                "MATCH (l:Lock {name: $name}) WHERE l.owner = $owner SET l.until = 0",
                name=name,
                owner=owner,
            )

    def _take_lock(self, name: str, owner: str, lease_s: float) -> bool:
        now = time.time() * 1000
        rows = self._write(
            "lock",
            # Touch first: on Neo4j the write lock is then held before the check.
            "MERGE (l:Lock {name: $name}) SET l.touched = $now WITH l "
            "WHERE l.until IS NULL OR l.until < $now OR l.owner = $owner "
            "SET l.owner = $owner, l.until = $until RETURN l.owner AS owner",
            name=name,
            owner=owner,
            now=now,
            until=now + lease_s * 1000,
        )
        return bool(rows)

    def record_state(self, keys: Sequence[str]) -> dict[str, RecordState]:
        """For records already stored: their profile, link and identifier keys."""
        rows = self._read(
            "record_state",
            "UNWIND $keys AS k MATCH (r:Record {key: k}) "
            "OPTIONAL MATCH (r)-[l:IN]->(p:Profile) "
            "OPTIONAL MATCH (r)-[:HAS]->(i:Identifier) "
            "RETURN k AS key, p.id AS profile_id, l.rule AS rule, l.via AS via, "
            "l.via_record AS via_record, collect(i.key) AS identifiers",
            keys=list(keys),
        )
        return {
            row["key"]: RecordState(
                profile_id=row["profile_id"],
                link=_stored_link(row) if row["profile_id"] else None,
                identifier_keys=frozenset(row["identifiers"]),
            )
            for row in rows
        }

    def upsert_records(
        self, rows: Sequence[dict[str, Any]], *, existing: Set[str], now: str
    ) -> None:
        """Create new records with their identifiers; update `existing` ones, dropping
        the identifiers they lost.

        Each row: key, source, source_id, kind, observed_at, name, text, topics,
        attributes (JSON text) and identifiers: [{key, type, value, strength, seen_at}].
        Callers hold the resolution lock, so `existing` is still true when this runs.
        """
        fresh = [row for row in rows if row["key"] not in existing]
        updated = [row for row in rows if row["key"] in existing]
        statements = []
        if fresh:
            statements.append(self._create_records(fresh, now))
        if updated:
            statements.extend(self._update_records(updated, now))
        if statements:
            self.backend.write(*statements)

    @staticmethod
    def _create_records(rows: Sequence[dict[str, Any]], now: str) -> Statement:
        # CREATE, not MERGE: one pass, no lookups of records that cannot exist.
        return Statement(
            "create_records",
            "UNWIND $rows AS row CREATE (r:Record {key: row.key, source: row.source, "
            "source_id: row.source_id, kind: row.kind, observed_at: row.observed_at, "
            "name: row.name, text: row.text, topics: row.topics, attributes: row.attributes, "
            "ingested_at: $now, updated_at: $now}) "
            "WITH r, row UNWIND row.identifiers AS id "
            "MERGE (i:Identifier {key: id.key}) ON CREATE SET i.type = id.type, "
            "i.value = id.value, i.strength = id.strength, i.generic = false "
            "CREATE (r)-[:HAS {first_seen: $now, last_seen: $now, seen_at: id.seen_at}]->(i)",
            {"rows": list(rows), "now": now},
        )

    @staticmethod
    def _update_records(rows: Sequence[dict[str, Any]], now: str) -> list[Statement]:
        return [
            Statement(
                "update_records",
                "UNWIND $rows AS row MATCH (r:Record {key: row.key}) "
                "SET r.source = row.source, r.source_id = row.source_id, r.kind = row.kind, "
                "r.observed_at = row.observed_at, r.name = row.name, r.text = row.text, "
                "r.topics = row.topics, r.attributes = row.attributes, r.updated_at = $now",
                {"rows": [_record_props(row) for row in rows], "now": now},
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
                "UNWIND $ids AS id MERGE (i:Identifier {key: id.key}) "
                "ON CREATE SET i.type = id.type, i.value = id.value, "
                "i.strength = id.strength, i.generic = false "
                "WITH i, id MATCH (r:Record {key: id.record}) "
                "MERGE (r)-[h:HAS]->(i) ON CREATE SET h.first_seen = $now "
                "SET h.last_seen = $now, h.seen_at = id.seen_at",
                {"ids": [dict(i, record=row["key"]) for row in rows for i in row["identifiers"]],
                 "now": now},
            ),
        ]  # fmt: skip

    def identifier_usage(self, keys: Iterable[str], max_names: int) -> list[IdentifierUsage]:
        """For linking identifiers shared by 2+ records (or marked generic): how many
        records carry them, and some of their names."""
        rows = self._read(
            "identifier_usage",
            "UNWIND $keys AS k MATCH (i:Identifier {key: k})<-[:HAS]-(r:Record) "
            "WHERE i.strength IN $linking "
            "WITH i, count(r) AS n, collect(r.name) AS names WHERE n > 1 OR i.generic "
            "RETURN i.key AS key, i.generic AS generic, n, names[..$max_names] AS names",
            keys=list(keys),
            linking=LINKING_STRENGTHS,
            max_names=max_names,
        )
        return [IdentifierUsage(r["key"], bool(r["generic"]), r["n"], r["names"]) for r in rows]

    def set_generic(self, people_by_key: dict[str, tuple[bool, int]]) -> None:
        """Mark identifiers generic (or not) with the number of people seen on them."""
        self._write(
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

    def profile_record_keys(self, profile_ids: Iterable[str]) -> list[str]:
        """Every record key of the given profiles."""
        rows = self._read(
            "profile_record_keys",
            "UNWIND $ids AS id MATCH (:Profile {id: id})<-[:IN]-(r:Record) RETURN r.key AS key",
            ids=list(profile_ids),
        )
        return [row["key"] for row in rows]

    def records_for_resolution(self, keys: Sequence[str]) -> list[RecordRow]:
        """What resolution needs of each record: who it is and what may link it."""
        rows = self._read(
            "records_for_resolution",
            "UNWIND $keys AS k MATCH (r:Record {key: k}) "
            "OPTIONAL MATCH (r)-[l:IN]->(p:Profile) "
            "OPTIONAL MATCH (r)-[:HAS]->(i:Identifier) "
            "WHERE i.strength IN $linking AND i.generic = false "
            "RETURN r.key AS key, r.source AS source, r.kind AS kind, r.name AS name, "
            "r.observed_at AS observed_at, p.id AS profile_id, l.rule AS rule, l.via AS via, "
            "l.via_record AS via_record, collect(i.key) AS ids",
            keys=list(keys),
            linking=LINKING_STRENGTHS,
        )
        return [
            RecordRow(
                r["key"],
                r["source"],
                r["kind"],
                r["name"],
                r["observed_at"],
                r["profile_id"],
                tuple(r["ids"]),
                _stored_link(r) if r["profile_id"] else None,
            )
            for r in rows
        ]

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
        groups = [dict(vars(s), links=by_profile[s.id]) for s in summaries]
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
                "SET p.kind = g.kind, p.display_name = g.display_name, "
                f"p.record_count = g.record_count, p.updated_at = $now {_LINK_GROUP}",
                {"groups": [g for g in groups if g["id"] not in created], "now": now},
            ),
            Statement(
                "retire_profiles",
                "UNWIND $rows AS row MATCH (p:Profile {id: row.id}) "
                "SET p.merged_into = row.into, p.record_count = 0, p.updated_at = $now",
                {"rows": [{"id": k, "into": v} for k, v in retired.items()], "now": now},
            ),
        ]
        self.backend.write(*statements)

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


def _record_props(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "identifiers"}


def _link_props(link: Link) -> dict[str, Any]:
    return {
        "record": link.record,
        "rule": link.rule,
        "via": link.via,
        "via_record": link.via_record,
    }


def _stored_link(row: Row) -> Link:
    return Link(row["key"], row["profile_id"], row["rule"], row["via"], row["via_record"])


def _stored_profiles(rows: list[Row]) -> list[StoredProfile]:
    profiles: dict[str, StoredProfile] = {}
    for row in rows:
        pid = row["pid"]
        if pid not in profiles:
            profiles[pid] = StoredProfile(
                id=pid,
                kind=row["kind"],
                display_name=row["display_name"],
                created_at=row["created_at"],
                updated_at=row["updated_at"],
                records=[],
            )
        profiles[pid].records.append(_stored_record(pid, row))
    return list(profiles.values())


def _stored_record(profile_id: str, row: Row) -> StoredRecord:
    identifiers = [
        StoredIdentifier(*values) for values in row["identifiers"] if values[0] is not None
    ]
    return StoredRecord(
        key=row["key"],
        source=row["source"],
        source_id=row["source_id"],
        kind=row["rkind"],
        observed_at=row["observed_at"],
        name=row["name"],
        text=row["text"],
        topics=list(row["topics"] or []),
        attributes=json.loads(row["attributes"] or "{}"),
        ingested_at=row["ingested_at"],
        updated_at=row["rupdated_at"],
        link=Link(row["key"], profile_id, row["rule"], row["via"], row["via_record"]),
        identifiers=identifiers,
    )
