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
        self.backend.write_later(
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
        declared, and the record (key, source, observed_at, text)."""
        return self._read(
            "evidence_of",
            "UNWIND $ids AS pid MATCH (p:Profile {id: pid}) WHERE p.kind = 'employee' "
            "MATCH (p)<-[:IN]-(r:Record)-[e:EVIDENCES]->(s:Skill) "
            "RETURN pid, s.name AS skill, e.weight AS weight, e.declared AS declared, "
            "r.key AS key, r.source AS source, r.observed_at AS observed_at, r.text AS text",
            ids=sorted(set(profile_ids)),
        )

    def own_records(
        self, profile_ids: Sequence[str], sources: Sequence[str]
    ) -> list[dict[str, Any]]:
        """The records a person keeps about themselves (HR, profile): attributes
        and identifiers, for the card an expert hit shows."""
        return self._read(
            "own_records",
            "UNWIND $ids AS pid MATCH (p:Profile {id: pid}) WITH pid, p "
            "MATCH (p)<-[:IN]-(r:Record) WHERE r.source IN $sources "
            "OPTIONAL MATCH (r)-[:HAS]->(i:Identifier) "
            "RETURN pid, r.attributes AS attributes, r.observed_at AS observed_at, "
            "collect([i.type, i.value, i.generic]) AS identifiers",
            ids=sorted(set(profile_ids)),
            sources=list(sources),
        )

    def skill_tops(self, skills: Sequence[str]) -> dict[str, str]:
        """Each skill's ranked list of who knows it best (JSON, as stored)."""
        rows = self._read(
            "skill_tops",
            "UNWIND $skills AS name MATCH (s:Skill {name: name}) RETURN name, s.top AS top",
            skills=list(skills),
        )
        return {row["name"]: row["top"] or "[]" for row in rows}

    def set_skill_tops(self, tops: dict[str, str]) -> None:
        self.backend.write_later(
            Statement(
                "set_skill_tops",
                "UNWIND $rows AS row MERGE (s:Skill {name: row.name}) SET s.top = row.top",
                {"rows": [{"name": k, "top": v} for k, v in tops.items()]},
            )
        )

    def expert_cards(
        self, profile_ids: Sequence[str], skills: Sequence[str]
    ) -> list[dict[str, Any]]:
        """For candidate experts: whether they may be shown, their card, and
        what they know of the asked skills (score parts, evidence snippets)."""
        return self._read(
            "expert_cards",
            "UNWIND $ids AS pid MATCH (p:Profile {id: pid}) "
            "OPTIONAL MATCH (p)-[k:KNOWS]->(s:Skill) WHERE s.name IN $skills "
            "RETURN pid, p.display_name AS display_name, p.kind AS kind, "
            "p.merged_into AS merged_into, coalesce(p.searchable, true) AS searchable, "
            "p.card AS card, collect([s.name, k.score, k.inferred, k.evidence, k.declared, "
            "k.last_seen, k.snippets]) AS knows",
            ids=list(profile_ids),
            skills=list(skills),
        )

    def replace_expertise(
        self, profile_ids: Sequence[str], rows: Sequence[dict[str, Any]],
        cards: dict[str, str],
    ) -> None:  # fmt: skip
        """Drop what the profiles knew; store `rows` of {pid, skill, score,
        inferred, evidence, declared, last_seen, snippets} instead, and each
        profile's card (JSON: department, title, location, manager, contact)."""
        self.backend.write_later(
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
                "evidence: row.evidence, declared: row.declared, last_seen: row.last_seen, "
                "snippets: row.snippets}]->(s)",
                {"rows": list(rows)},
            ),
            Statement(
                "set_cards",
                "UNWIND $rows AS row MATCH (p:Profile {id: row.pid}) SET p.card = row.card",
                {"rows": [{"pid": k, "card": v} for k, v in cards.items()]},
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
