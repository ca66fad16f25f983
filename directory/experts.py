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
from resolvers.skills import normalise_text, skills_in

_PER_SKILL = 200  # best employees read per skill asked
_SNIPPETS = 3
_SNIPPET_CHARS = 180
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
    """Ranked experts for a question (see the module docstring)."""
    skills = understand(writer, query)
    totals: dict[str, float] = defaultdict(float)
    matches: dict[str, list[SkillMatch]] = defaultdict(list)
    for skill in skills:
        for row in writer.experts_for(skill, _PER_SKILL):
            totals[row["pid"]] += row["score"]
            matches[row["pid"]].append(SkillMatch(
                skill, row["score"], row["inferred"], row["evidence"], bool(row["declared"]),
                row["last_seen"],
            ))  # fmt: skip
    ranked = sorted(totals, key=lambda pid: (-totals[pid], pid))[:first]
    hits = [ExpertHit(pid, None, round(totals[pid], 4), matches[pid]) for pid in ranked]
    _describe(writer, hits, set(skills), _allowed(role, field_roles or {}))
    return ExpertSearch(skills, hits)


def _allowed(role: Role | None, field_roles: dict[str, str]) -> set[str]:
    """The contact and profile fields this role may see."""
    fields = {*_CONTACT_TYPES, "department", "title", "location", "manager"}
    return {
        f for f in fields if role is not None and role.allows(Role(field_roles.get(f, "agent")))
    }


def _describe(
    writer: GraphWriter, hits: list[ExpertHit], skills: set[str], allowed: set[str]
) -> None:
    """Fill in who each hit is, where, how to reach them, and the evidence."""
    by_profile: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in writer.expert_records([hit.profile_id for hit in hits]):
        by_profile[row["pid"]].append(row)
    for hit in hits:
        rows = sorted(
            by_profile[hit.profile_id], key=lambda r: r["observed_at"] or "", reverse=True
        )
        hit.display_name = rows[0]["display_name"] if rows else None
        attributes: dict[str, str] = {}
        for row in reversed(rows):  # the newest value wins
            attributes.update(json.loads(row["attributes"] or "{}"))
        attributes.setdefault("location", attributes.get("city", ""))
        for name in ("department", "title", "location", "manager"):
            if name in allowed:
                setattr(hit, name, attributes.get(name) or None)
        contact = {
            (type_, value)
            for row in rows
            for type_, value, generic in row["identifiers"]
            if type_ in allowed and type_ in _CONTACT_TYPES and not generic
        }
        hit.contact = sorted(contact)
        hit.evidence = [
            Snippet(row["key"], row["source"], row["observed_at"], _snippet(row["text"]),
                    sorted(set(row["skills"]) & skills))
            for row in rows
            if row["text"] and skills & set(row["skills"])
        ][:_SNIPPETS]  # fmt: skip


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SNIPPET_CHARS else text[: _SNIPPET_CHARS - 1] + "…"
