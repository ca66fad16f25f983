"""Expert search: "who knows about this?" — a question or a pasted customer
message in, ranked employees out, each with the skills that matched, the
score's parts, evidence snippets, department and how to reach them.

The question is read with the same multilingual lexicon as the records
(`resolvers.skills`); each recognised skill reads its best employees from the
graph (`KNOWS` edges, kept up to date at every ingest and resolution), and a
person's score is the sum of their scores on the skills asked. Employees
marked not searchable never appear; contact fields limited to higher roles are
left out for lower ones.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from directory.auth import Role
from graph.store import GraphWriter
from resolvers.skills import CARD_FIELDS, normalise_text, skills_in

_NOMINATED = 4  # candidates checked per hit asked for (some may not be shown)
_SNIPPETS = 3
_CONTACT_TYPES = ("email", "phone", "employee_id", "microblog", "twitter", "linkedin", "slack")


class _Vocabulary:
    """The skill names in the graph, read again at most every `ttl_s` seconds."""

    def __init__(self, ttl_s: float = 30.0) -> None:
        self._ttl_s = ttl_s
        self._seen: dict[int, tuple[float, list[str]]] = {}  # id(backend) -> (when, names)

    def names(self, writer: GraphWriter) -> list[str]:
        now = time.monotonic()
        seen = self._seen.get(id(writer.backend))
        if seen is None or now - seen[0] > self._ttl_s:
            seen = self._seen[id(writer.backend)] = (now, writer.skill_names())
        return seen[1]


_VOCABULARY = _Vocabulary()


@dataclass(frozen=True)
class SkillMatch:
    """One asked skill's part of a hit's score."""

    skill: str
    score: float
    inferred: float
    evidence: int
    declared: bool
    last_seen: str | None


@dataclass(frozen=True)
class Snippet:
    record: str
    source: str
    at: str | None
    text: str
    skills: list[str]


@dataclass
class ExpertHit:
    profile_id: str
    display_name: str | None
    score: float
    matches: list[SkillMatch]
    department: str | None = None
    title: str | None = None
    location: str | None = None
    manager: str | None = None  # the manager's employee id, as HR gives it
    contact: list[tuple[str, str]] = field(default_factory=list)
    evidence: list[Snippet] = field(default_factory=list)


@dataclass(frozen=True)
class ExpertSearch:
    understood: list[str]  # the skills read in the question
    hits: list[ExpertHit]


def understand(writer: GraphWriter, query: str) -> list[str]:
    """The skills a question asks about: lexicon phrases, and skill names
    (explicit topics seen in the data) written out in it."""
    found = list(skills_in(query))
    words = f" {normalise_text(query)} "
    for name in _VOCABULARY.names(writer):
        if name not in found and f" {name.replace('-', ' ')} " in words:
            found.append(name)
    return found


def search(
    writer: GraphWriter, *, query: str, first: int = 10, role: Role | None = None,
    field_roles: dict[str, str] | None = None,
) -> ExpertSearch:  # fmt: skip
    """Ranked experts for a question (see the module docstring). Each asked
    skill's ranking (kept on the skill) nominates candidates; their own KNOWS
    edges then give the score and its parts, and who may be shown."""
    skills = understand(writer, query)
    nominated: dict[str, float] = defaultdict(float)
    for ranking in writer.skill_tops(skills).values():
        for pid, score in json.loads(ranking):
            nominated[pid] += score
    candidates = sorted(nominated, key=lambda pid: (-nominated[pid], pid))[: first * _NOMINATED]
    allowed = _allowed(role, field_roles or {})
    hits = [
        hit
        for row in writer.expert_cards(candidates, skills)
        if (hit := _hit(row, allowed)) is not None
    ]
    hits.sort(key=lambda hit: (-hit.score, hit.profile_id))
    return ExpertSearch(skills, hits[:first])


def _allowed(role: Role | None, field_roles: dict[str, str]) -> set[str]:
    """The contact and profile fields this role may see."""
    if role is None:
        return set()
    fields = {*_CONTACT_TYPES, *CARD_FIELDS}
    return {f for f in fields if role.allows(Role(field_roles.get(f, Role.AGENT.value)))}


def _hit(row: dict[str, Any], allowed: set[str]) -> ExpertHit | None:
    """A candidate as a hit; None when it may not be shown (merged away, not an
    employee, not searchable) or no longer knows any asked skill."""
    if row["merged_into"] or row["kind"] != "employee" or not row["searchable"]:
        return None
    matches, snippets = [], []
    for skill, score, inferred, evidence, declared, last_seen, kept in row["knows"]:
        if skill is None:
            continue
        matches.append(SkillMatch(skill, score, inferred, evidence, bool(declared), last_seen))
        snippets += [Snippet(s["record"], s["source"], s["at"], s["text"], [skill])
                     for s in json.loads(kept or "[]")]  # fmt: skip
    if not matches:
        return None
    card = json.loads(row["card"] or "{}")
    return ExpertHit(
        profile_id=row["pid"], display_name=row["display_name"],
        score=round(sum(m.score for m in matches), 4), matches=matches,
        department=card.get("department") if "department" in allowed else None,
        title=card.get("title") if "title" in allowed else None,
        location=card.get("location") if "location" in allowed else None,
        manager=card.get("manager") if "manager" in allowed else None,
        contact=[(t, v) for t, v in card.get("contact", []) if t in allowed],
        evidence=sorted(snippets, key=lambda s: s.at or "", reverse=True)[:_SNIPPETS],
    )  # fmt: skip
