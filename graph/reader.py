"""Read-only identity-graph operations (what lookups get), written once in the
Cypher subset both engines run."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from graph.backend import GraphBackend, Row, Statement
from graph.errors import GraphError
from graph.model import IpSighting, Link, StoredIdentifier, StoredProfile, StoredRecord

_MAX_REDIRECTS = 32
_PROFILE_BODY = (
    "MATCH (p)<-[l:IN]-(r:Record) OPTIONAL MATCH (r)-[h:HAS]->(i:Identifier) "
    "RETURN p.id AS pid, p.kind AS kind, p.display_name AS display_name, "
    "p.created_at AS created_at, p.updated_at AS updated_at, p.overrides AS overrides, "
    "r.key AS key, r.source AS source, r.source_id AS source_id, r.kind AS rkind, "
    "r.observed_at AS observed_at, r.name AS name, r.text AS text, "
    "r.topics AS topics, r.attributes AS attributes, "
    "r.ingested_at AS ingested_at, r.updated_at AS rupdated_at, "
    "l.rule AS rule, l.via AS via, l.via_record AS via_record, "
    "collect([i.type, i.value, i.strength, i.generic, i.people, "
    "h.seen_at, h.first_seen, h.last_seen]) AS identifiers"
)
# Links a profile `p` to the records of its group `g` (profile first: one lookup).


class GraphReader:
    """Read-only operations, for lookups."""

    def __init__(self, backend: GraphBackend) -> None:
        self.backend = backend

    def _read(self, name: str, cypher: str, /, **params: Any) -> list[Row]:
        return self.backend.read(Statement(name, cypher, params))

    def setting(self, name: str) -> str | None:
        """A stored setting's value (which model is current, when resolution ran, ...)."""
        return settings_from(self.backend.read(settings_statement([name]))).get(name)

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

    def identifier_sightings(self, key: str) -> list[tuple[str, str, str | None]]:
        """(profile id, record source, seen_at) of every record carrying an identifier."""
        rows = self._read(
            "identifier_sightings",
            "MATCH (:Identifier {key: $key})<-[h:HAS]-(r:Record)-[:IN]->(p:Profile) "
            "RETURN p.id AS pid, r.source AS source, h.seen_at AS seen_at",
            key=key,
        )
        return [(row["pid"], row["source"], row["seen_at"]) for row in rows]

    def ip_sightings(
        self, windows: Sequence[tuple[str, str, str]], *, authoritative: Sequence[str]
    ) -> list[IpSighting]:
        """Records seen on each IP (identifier key) between two UTC times, with the
        accounts they carry, for the IPs marked leased (`mark_leased`);
        `authoritative` names the sources that say who held an IP."""
        rows = self._read(
            "ip_sightings",
            # Only IPs an authoritative source saw: a carrier NAT address others
            # share by the thousand costs nothing here.
            "UNWIND $windows AS w MATCH (i:Identifier {key: w.ip}) WHERE i.leased = true "
            "MATCH (i)<-[h:HAS]-(r:Record) WHERE h.seen_at >= w.lo AND h.seen_at <= w.hi "
            "OPTIONAL MATCH (r)-[:HAS]->(a:Identifier) WHERE a.type = 'account' "
            "AND a.generic = false "
            "RETURN w.ip AS ip, r.key AS record, r.source AS source, h.seen_at AS seen_at, "
            "collect(a.key) AS accounts",
            # Seconds bounds widen by one second: fractions sort before "Z".
            windows=[{"ip": ip, "lo": _widened(lo, -1), "hi": _widened(hi, 1)}
                     for ip, lo, hi in windows],
        )  # fmt: skip
        sources = set(authoritative)
        return [
            IpSighting(r["record"], r["ip"], r["seen_at"], r["source"] in sources,
                       tuple(sorted(r["accounts"])))
            for r in rows
        ]  # fmt: skip

    def search_names(self, query: str, limit: int) -> list[str]:
        """Live profile ids whose records' names match a full-text query, best first."""
        call = self.backend.dialect.fulltext_query.format(
            label="Record", prop="search_name", query="$query"
        )
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
        counts = {"records": self.count_of("Record"), "identifiers": self.count_of("Identifier")}
        rows = self._read(
            "count_profiles",
            "MATCH (p:Profile) WHERE p.merged_into IS NULL RETURN count(p) AS n",
        )
        counts["profiles"] = int(rows[0]["n"])
        return counts

    def count_of(self, label: str) -> int:
        """How many nodes carry a label (`Record`, `Identifier`)."""
        rows = self._read(f"count_{label}", f"MATCH (n:{label}) RETURN count(n) AS n")
        return int(rows[0]["n"])

    def api_key(self, key_hash: str) -> tuple[str, str] | None:
        """The role and name of an API key by its hash, or None when unknown or revoked."""
        rows = self._read(
            "api_key",
            "MATCH (k:ApiKey {hash: $hash}) WHERE k.revoked_at IS NULL "
            "RETURN k.role AS role, k.name AS name",
            hash=key_hash,
        )
        return (rows[0]["role"], rows[0]["name"] or "") if rows else None


def settings_statement(names: Sequence[str]) -> Statement:
    return Statement(
        "settings",
        "UNWIND $names AS n MATCH (s:Setting {name: n}) RETURN s.name AS name, s.value AS value",
        {"names": list(names)},
    )


def settings_from(rows: list[Row]) -> dict[str, str]:
    return {row["name"]: row["value"] for row in rows}


def link_from_row(row: Row) -> Link:
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
                overrides=json.loads(row["overrides"] or "{}"),
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


def _widened(utc: str, seconds: int) -> str:
    """A UTC text `seconds` later (or earlier), to whole seconds."""
    moment = datetime.fromisoformat(utc).replace(microsecond=0) + timedelta(seconds=seconds)
    return moment.isoformat().replace("+00:00", "Z")
