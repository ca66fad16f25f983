"""Skills in the identity graph: what each record is evidence of, and what
each employee's profile knows (aggregated, so a search reads one edge per
person and skill).

- `(Record)-[:EVIDENCES {weight, declared}]->(Skill {name})`: written with the record.
- `(Profile)-[:KNOWS {score, inferred, evidence, declared, last_seen}]->(Skill)`:
  recomputed for a profile whenever its records change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graph.backend import Statement
from graph.reader import GraphReader


class ExpertiseStore(GraphReader):
    """Skill evidence, expertise and the expert search's reads."""

    def set_evidence(self, rows: Sequence[dict[str, Any]]) -> None:
        """Replace the skill evidence of records: rows of {key, evidence:
        [{skill, weight, declared}]} (an empty list drops a record's evidence)."""
        if not rows:
            return
        self.backend.write(
            Statement(
                "drop_evidence",
                "UNWIND $keys AS k MATCH (:Record {key: k})-[e:EVIDENCES]->(:Skill) DELETE e",
                {"keys": [row["key"] for row in rows]},
            ),
            Statement(
                "add_evidence",
                "UNWIND $rows AS row MATCH (r:Record {key: row.key}) "
                "UNWIND row.evidence AS ev MERGE (s:Skill {name: ev.skill}) "
                "CREATE (r)-[:EVIDENCES {weight: ev.weight, declared: ev.declared}]->(s)",
                {"rows": [row for row in rows if row["evidence"]]},
            ),
        )

    def evidence_of(self, profile_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Every piece of skill evidence of employee profiles: pid, skill, weight,
        declared, observed_at; and each profile's HR `searchable` flags."""
        return self._read(
            "evidence_of",
            "UNWIND $ids AS pid MATCH (p:Profile {id: pid}) WHERE p.kind = 'employee' "
            "MATCH (p)<-[:IN]-(r:Record)-[e:EVIDENCES]->(s:Skill) "
            "RETURN pid, s.name AS skill, e.weight AS weight, e.declared AS declared, "
            "r.observed_at AS observed_at",
            ids=sorted(set(profile_ids)),
        )

    def replace_expertise(self, profile_ids: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
        """Drop what the profiles knew; store `rows` of {pid, skill, score,
        inferred, evidence, declared, last_seen} instead."""
        self.backend.write(
            Statement(
                "drop_expertise",
                "UNWIND $ids AS pid MATCH (:Profile {id: pid})-[k:KNOWS]->(:Skill) DELETE k",
                {"ids": sorted(set(profile_ids))},
            ),
            Statement(
                "add_expertise",
                "UNWIND $rows AS row MATCH (p:Profile {id: row.pid}) "
                "MERGE (s:Skill {name: row.skill}) "
                "CREATE (p)-[:KNOWS {score: row.score, inferred: row.inferred, "
                "evidence: row.evidence, declared: row.declared, last_seen: row.last_seen}]->(s)",
                {"rows": list(rows)},
            ),
        )

    def profiles_with_evidence(self) -> list[str]:
        """Every live employee profile with some skill evidence (for a full refresh)."""
        rows = self._read(
            "profiles_with_evidence",
            "MATCH (p:Profile)<-[:IN]-(:Record)-[:EVIDENCES]->(:Skill) "
            "WHERE p.kind = 'employee' AND p.merged_into IS NULL RETURN DISTINCT p.id AS id",
        )
        return [row["id"] for row in rows]

    def skill_names(self) -> list[str]:
        rows = self._read("skill_names", "MATCH (s:Skill) RETURN s.name AS name ORDER BY name")
        return [row["name"] for row in rows]

    def experts_for(self, skill: str, limit: int) -> list[dict[str, Any]]:
        """The searchable employees who know a skill best, with the score's parts."""
        return self._read(
            "experts_for",
            # WITH first: FalkorDB's planner then starts from the skill's index.
            "MATCH (s:Skill {name: $skill}) WITH s MATCH (s)<-[k:KNOWS]-(p:Profile) "
            "WHERE p.merged_into IS NULL AND p.kind = 'employee' "
            "AND coalesce(p.searchable, true) "
            "RETURN p.id AS pid, k.score AS score, k.inferred AS inferred, "
            "k.evidence AS evidence, k.declared AS declared, k.last_seen AS last_seen "
            "ORDER BY score DESC, pid LIMIT $limit",
            skill=skill,
            limit=limit,
        )

    def expert_records(self, profile_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The records of the given profiles, with the skills each is evidence
        of (what a hit shows: who, where, how to reach, evidence snippets)."""
        return self._read(
            "expert_records",
            "UNWIND $ids AS pid MATCH (p:Profile {id: pid})<-[:IN]-(r:Record) "
            "OPTIONAL MATCH (r)-[:EVIDENCES]->(s:Skill) "
            "OPTIONAL MATCH (r)-[:HAS]->(i:Identifier) "
            "RETURN pid, p.display_name AS display_name, r.key AS key, r.source AS source, "
            "r.observed_at AS observed_at, r.text AS text, r.attributes AS attributes, "
            "collect(DISTINCT s.name) AS skills, "
            "collect(DISTINCT [i.type, i.value, i.generic]) AS identifiers",
            ids=list(profile_ids),
        )

    def set_searchable(self, profile_id: str, searchable: bool) -> bool:
        """Whether an employee appears in expert search; False when no such profile."""
        rows = self.backend.write(
            Statement(
                "set_searchable",
                "MATCH (p:Profile {id: $id}) SET p.searchable = $searchable RETURN p.id AS id",
                {"id": profile_id, "searchable": searchable},
            )
        )[0]
        return bool(rows)
