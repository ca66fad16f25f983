"""The stewards' part of the identity graph: judgements (append-only JUDGED
edges between records), the review queue (REVIEW edges) and the audit trail
(Event nodes, each ABOUT the profiles it touched)."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from graph.backend import Row, Statement
from graph.model import Event, Judgement, MatchEdge, ReviewRow
from graph.reader import GraphReader

REVIEW_CHANGED = "review_changed"  # a new value whenever review candidates change
JUDGED = "judged"  # set once the first judgement is stored
_JUDGEMENT_FIELDS = (
    "j.id AS id, startNode(j).key AS left, endNode(j).key AS right, j.decision AS decision, "
    "j.by AS by, j.at AS at, j.reason AS reason, j.score AS score"
)
_EVENT_FIELDS = (
    "e.id AS id, e.action AS action, e.by AS by, e.at AS at, e.summary AS summary, "
    "e.profiles AS profiles, e.detail AS detail, e.undone_by AS undone_by"
)
# The review queue's rank: the match probability, more for bigger profiles
# (a wrong split or merge there shows more people the wrong data).
_PRIORITY = (
    "m.probability * (1.0 + log(toFloat(coalesce(pa.record_count, 1) + "
    "coalesce(pb.record_count, 1))) / log(2.0))"
)


def review_priority(probability: float, left_count: int, right_count: int) -> float:
    """`_PRIORITY` of a review candidate whose records' profiles hold these
    many records: the probability, weighed up by how much the merge would join."""
    return probability * (1.0 + math.log(float(left_count + right_count)) / math.log(2.0))


# A review candidate's status from the judgement in force (an undo retracts it: pending again).
_STATUS = "CASE WHEN {decision} = 'retracted' THEN null ELSE {decision} END"


class JudgementStore(GraphReader):
    """Judgements, review candidates and steward events."""

    @staticmethod
    def _set_setting(name: str, value: str) -> Statement:
        return Statement(
            "set_setting",
            "MERGE (s:Setting {name: $name}) SET s.value = $value",
            {"name": name, "value": value},
        )

    def _review_changed(self) -> Statement:
        """Marks that the review queue changed (its readers rebuild what they keep)."""
        return self._set_setting(REVIEW_CHANGED, uuid.uuid4().hex)

    def review_changed(self) -> None:
        """Mark that the review queue changed, its candidates' priorities set
        already (`refresh_review` sets them)."""
        self.backend.write_later(self._review_changed())

    def any_judgements(self) -> bool:
        """Whether anybody ever judged two records (one setting read)."""
        return self.setting(JUDGED) is not None

    def add_judgements(self, judgements: Sequence[Judgement]) -> list[str]:
        """Store judgements; each supersedes (marks, never deletes) the current
        one of its pair. The ids of those stored (both records known)."""
        latest = {frozenset((j.left, j.right)): j for j in judgements}  # one per pair
        rows = [vars(j) for j in latest.values()]
        if not rows:
            return []
        results = self.backend.write(
            Statement(
                "supersede_judgements",
                "UNWIND $rows AS j MATCH (a:Record {key: j.left})-[old:JUDGED]-"
                "(b:Record {key: j.right}) WHERE old.superseded_at IS NULL "
                "SET old.superseded_at = j.at, old.superseded_by = j.id",
                {"rows": rows},
            ),
            Statement(
                "add_judgements",
                "UNWIND $rows AS j MATCH (a:Record {key: j.left}) MATCH (b:Record {key: j.right}) "
                "CREATE (a)-[:JUDGED {id: j.id, decision: j.decision, by: j.by, at: j.at, "
                "reason: j.reason, score: j.score}]->(b) RETURN j.id AS id",
                {"rows": rows},
            ),
            Statement(
                "review_status",
                # A decided pair leaves the queue (an unsure one is kept apart in it).
                "UNWIND $rows AS j MATCH (a:Record {key: j.left})-[m:REVIEW]-"
                "(b:Record {key: j.right}) SET m.status = " + _STATUS.format(decision="j.decision"),
                {"rows": rows},
            ),
            self._review_changed(),
            self._set_setting(JUDGED, "yes"),
        )
        return [row["id"] for row in results[1]]

    def current_judgements(self, keys: Iterable[str] | None = None) -> list[Judgement]:
        """The judgements in force (newest of each pair) of the given records, or all."""
        if keys is None:
            rows = self._read(
                "current_judgements",
                "MATCH (:Record)-[j:JUDGED]->(:Record) WHERE j.superseded_at IS NULL "
                f"RETURN {_JUDGEMENT_FIELDS}",
            )
        else:
            rows = self._read(
                "current_judgements_of",
                "UNWIND $keys AS k MATCH (:Record {key: k})-[j:JUDGED]-(:Record) "
                f"WHERE j.superseded_at IS NULL RETURN DISTINCT {_JUDGEMENT_FIELDS}",
                keys=sorted(set(keys)),
            )
        return [_judgement(row) for row in rows]

    def judgement_history(self, left: str, right: str) -> list[Judgement]:
        """Every judgement ever made of a pair, oldest first."""
        rows = self._read(
            "judgement_history",
            "MATCH (:Record {key: $left})-[j:JUDGED]-(:Record {key: $right}) "
            f"RETURN {_JUDGEMENT_FIELDS} ORDER BY at, id",
            left=left,
            right=right,
        )
        return [_judgement(row) for row in rows]

    def all_judgements(self) -> list[Judgement]:
        """Every judgement ever made, oldest first (for export)."""
        rows = self._read(
            "all_judgements",
            f"MATCH (:Record)-[j:JUDGED]->(:Record) RETURN {_JUDGEMENT_FIELDS} ORDER BY at, id",
        )
        return [_judgement(row) for row in rows]

    def judged_different(self, keys: Sequence[str] | None = None) -> list[tuple[str, str]]:
        """Record pairs whose judgement in force is "different" (of the given
        records, or of all)."""
        pairs = {
            (min(j.left, j.right), max(j.left, j.right))
            for j in self.current_judgements(keys)
            if j.decision == "different"
        }
        return sorted(pairs)

    def review_candidates(self, limit: int) -> list[MatchEdge]:
        """Stored review candidates, most probable first (whatever their status)."""
        rows = self._read(
            "review_candidates",
            "MATCH (a:Record)-[m:REVIEW]->(b:Record) RETURN a.key AS left, b.key AS right, "
            "m.weight AS weight, m.probability AS probability, m.reason AS reason "
            "ORDER BY probability DESC, left, right LIMIT $limit",
            limit=limit,
        )
        return [MatchEdge(**row) for row in rows]

    def refresh_review(self, keys: Sequence[str] | None = None) -> None:
        """Re-rank review candidates (of the given records, or all) by the sizes of
        their profiles now, and mark those a judgement in force has decided."""
        start = (
            "MATCH (a:Record)-[m:REVIEW]->(b:Record) "
            if keys is None
            else "UNWIND $keys AS k MATCH (a:Record {key: k})-[m:REVIEW]-(b:Record) "
        )
        suffix = "" if keys is None else "_of"
        self.backend.write_later(
            Statement(
                f"review_priority{suffix}",
                f"{start}OPTIONAL MATCH (a)-[:IN]->(pa:Profile) "
                f"OPTIONAL MATCH (b)-[:IN]->(pb:Profile) SET m.priority = {_PRIORITY}",
                {"keys": list(keys or [])},
            ),
            Statement(
                f"review_judged{suffix}",
                f"{start}MATCH (a)-[j:JUDGED]-(b) WHERE j.superseded_at IS NULL "
                "SET m.status = " + _STATUS.format(decision="j.decision"),
                {"keys": list(keys or [])},
            ),
            self._review_changed(),
        )

    def review_queue(
        self, *, statuses: Sequence[str], source: str | None, kind: str | None, limit: int
    ) -> list[ReviewRow]:
        """Review candidates whose two records sit in different profiles, highest
        priority first, newest among equals."""
        rows = self._read(
            "review_queue",
            "MATCH (a:Record)-[m:REVIEW]->(b:Record) "
            "WHERE coalesce(m.status, 'pending') IN $statuses "
            "AND ($source IS NULL OR a.source = $source OR b.source = $source) "
            "WITH a, b, m ORDER BY m.priority DESC, m.at DESC LIMIT $scan "
            "MATCH (a)-[:IN]->(pa:Profile) MATCH (b)-[:IN]->(pb:Profile) "
            "WHERE pa.id <> pb.id AND ($kind IS NULL OR pa.kind = $kind OR pb.kind = $kind) "
            "RETURN a.key AS left, b.key AS right, m.weight AS weight, "
            "m.probability AS probability, m.reason AS reason, m.at AS at, "
            "pa.id AS left_profile, pb.id AS right_profile, pa.record_count AS left_size, "
            "pb.record_count AS right_size, a.source AS left_source, "
            "b.source AS right_source, pa.kind AS kind, pb.kind AS right_kind, "
            "CASE WHEN pa.updated_at > pb.updated_at THEN pa.updated_at "
            "ELSE pb.updated_at END AS touched_at, "
            "coalesce(m.status, 'pending') AS status",
            statuses=list(statuses),
            source=source,
            kind=kind,
            scan=limit,
        )
        return [ReviewRow(**row) for row in rows]

    def review_between(self, left: str, right: str) -> MatchEdge | None:
        """The review candidate of two records, if one is stored."""
        rows = self._read(
            "review_between",
            "MATCH (a:Record {key: $left})-[m:REVIEW]-(b:Record {key: $right}) "
            "RETURN a.key AS left, b.key AS right, m.weight AS weight, "
            "m.probability AS probability, m.reason AS reason LIMIT 1",
            left=left,
            right=right,
        )
        return MatchEdge(**rows[0]) if rows else None

    def add_event(self, event: Event) -> None:
        """Store a steward's action, attached to every profile it touched."""
        self.backend.write(
            Statement(
                "add_event",
                "CREATE (e:Event {id: $id, action: $action, by: $by, at: $at, "
                "summary: $summary, profiles: $profiles, detail: $detail}) "
                "WITH e UNWIND $profiles AS pid MATCH (p:Profile {id: pid}) "
                "CREATE (e)-[:ABOUT]->(p)",
                dict(vars(event), detail=json.dumps(event.detail, sort_keys=True)),
            )
        )

    def events(self, *, profile_id: str | None = None, limit: int = 100) -> list[Event]:
        """Steward events, newest first: all, or those about one profile."""
        if profile_id is None:
            rows = self._read(
                "events",
                f"MATCH (e:Event) RETURN {_EVENT_FIELDS} ORDER BY e.id DESC LIMIT $limit",
                limit=limit,
            )
        else:
            rows = self._read(
                "profile_events",
                "MATCH (e:Event)-[:ABOUT]->(:Profile {id: $pid}) "
                f"RETURN {_EVENT_FIELDS} ORDER BY e.id DESC LIMIT $limit",
                pid=profile_id,
                limit=limit,
            )
        return [_event(row) for row in rows]

    def event(self, event_id: str) -> Event | None:
        rows = self._read(
            "event", f"MATCH (e:Event {{id: $id}}) RETURN {_EVENT_FIELDS}", id=event_id
        )
        return _event(rows[0]) if rows else None

    def events_after(self, event_id: str, profile_ids: Sequence[str]) -> list[Event]:
        """Later events about any of the profiles."""
        rows = self._read(
            "events_after",
            "UNWIND $pids AS pid MATCH (e:Event)-[:ABOUT]->(:Profile {id: pid}) "
            f"WHERE e.id > $id RETURN DISTINCT {_EVENT_FIELDS}",
            pids=list(profile_ids),
            id=event_id,
        )
        return [_event(row) for row in rows]

    def mark_undone(self, event_id: str, undone_by: str) -> None:
        self.backend.write(
            Statement(
                "mark_undone",
                "MATCH (e:Event {id: $id}) SET e.undone_by = $by",
                {"id": event_id, "by": undone_by},
            )
        )

    def profile_heads(self, profile_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """What a snapshot keeps of each profile: name, kind, redirect, overrides,
        and its record keys."""
        rows = self._read(
            "profile_heads",
            "UNWIND $ids AS pid MATCH (p:Profile {id: pid}) OPTIONAL MATCH (p)<-[:IN]-(r:Record) "
            "RETURN pid, p.display_name AS display_name, p.kind AS kind, "
            "p.merged_into AS merged_into, p.overrides AS overrides, collect(r.key) AS records",
            ids=sorted(set(profile_ids)),
        )
        return {
            row["pid"]: {
                "display_name": row["display_name"],
                "kind": row["kind"],
                "merged_into": row["merged_into"],
                "overrides": json.loads(row["overrides"] or "{}"),
                "records": sorted(row["records"]),
            }
            for row in rows
        }

    def record_profiles(self, keys: Sequence[str]) -> dict[str, str]:
        """The profile each record is in now."""
        rows = self._read(
            "record_profiles",
            "UNWIND $keys AS k MATCH (:Record {key: k})-[:IN]->(p:Profile) "
            "RETURN k AS key, p.id AS pid",
            keys=sorted(set(keys)),
        )
        return {row["key"]: row["pid"] for row in rows}

    def set_profile_overrides(
        self, profile_id: str, overrides: dict[str, str], display_name: str | None
    ) -> None:
        """Store a profile's overrides; `display_name` is what it now shows."""
        self.backend.write(
            Statement(
                "set_profile_overrides",
                "MATCH (p:Profile {id: $id}) SET p.overrides = $overrides, "
                "p.name_override = $name, p.display_name = $display_name",
                {
                    "id": profile_id,
                    "overrides": json.dumps(overrides, sort_keys=True),
                    "name": overrides.get("name"),
                    "display_name": display_name,
                },
            )
        )


def _judgement(row: Row) -> Judgement:
    return Judgement(**row)


def _event(row: Row) -> Event:
    fields: dict[str, Any] = dict(row)
    fields["detail"] = json.loads(fields["detail"] or "{}")
    fields["profiles"] = list(fields["profiles"] or [])
    return Event(**fields)
