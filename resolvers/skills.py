"""Skills from what people write, in English, Spanish and French.

A topic lexicon maps each skill to the words people use for it in any of the
three languages and their mixes ("IPv6", "protocolo IP versión 6", "adressage
IPv6", "dual-stack"); accents, case and punctuation are ignored. The same
matcher reads a record's text and a searcher's question, so "¿quién sabe de
doble pila?" finds the engineer who blogged about dual-stack IPv6.

A record is evidence of the skills its text mentions and of its explicit
`topics`; `topics` on the person's own HR or profile record are *declared*
skills, kept apart from the inferred ones.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graph.store import GraphWriter
from resolvers.names import fold

# skill -> phrases (folded: lower case, no accents; words separated by spaces)
# fmt: off
LEXICON: dict[str, tuple[str, ...]] = {
    "ipv6": (
        "ipv6", "ip v6", "ip version 6", "protocolo ip version 6", "protocolo ipv6",
        "adressage ipv6", "adresse ipv6", "adresses ipv6", "direccion ipv6", "direcciones ipv6",
        "dual stack", "doble pila", "double pile", "slaac", "dhcpv6", "prefix delegation",
        "delegacion de prefijo", "delegation de prefixe",
    ),
    "dns": (
        "dns", "domain name system", "resolucion de nombres", "resolution de noms",
        "resolution dns", "nombre de dominio", "nom de domaine", "dnssec", "resolver dns",
        "resolveur dns", "resolveurs dns", "resolvers dns", "anycast",
    ),
    "cgnat": (
        "cgnat", "cg nat", "carrier grade nat", "nat de operador", "nat 444", "abrir puertos",
        "abrir un puerto", "redireccion de puertos", "port forwarding", "port forward",
        "open ports", "open a port", "opening ports", "ouvrir des ports", "ouvrir les ports",
        "ouvrir un port", "redirection de ports", "ip publica", "ip publique", "public ip",
        "bloques de puertos", "blocs de ports", "port blocks", "double nat", "doble nat",
    ),
    "fibre": (
        "fibre", "fiber", "fibra", "ftth", "fibra optica", "fibre optique", "gpon", "ont device",
        "onu", "splitter", "fibre to the home",
    ),
    "5g": (
        "5g", "new radio", "5g standalone", "5g sa", "cobertura 5g", "couverture 5g",
        "network slicing", "slicing", "handover",
    ),
    "billing-codes": (
        "billing code", "billing codes", "codigo de facturacion", "codigos de facturacion",
        "code de facturation", "codes de facturation", "concepto de la factura",
        "cargo en la factura", "ligne de facture", "line on the bill", "portal movil",
        "portail mobile", "rating engine",
    ),
    "voip": (
        "voip", "voice over ip", "sip", "sip trunk", "telefonia ip", "telefono fijo",
        "linea fija", "telephonie ip", "ligne fixe", "landline", "softphone",
    ),
    "wifi": (
        "wifi", "wi fi", "wlan", "mesh", "repetidor", "repeteur", "extender", "channel overlap",
        "canal wifi", "canal 5 ghz", "5 ghz", "2 4 ghz",
    ),
    "iptv": (
        "iptv", "tv box", "decodificador", "decodeur", "set top box", "multicast", "canales de tv",
        "chaines tv", "tv channels", "video on demand", "vod",
    ),
    "roaming": (
        "roaming", "itinerancia", "itinerance", "data abroad", "datos en el extranjero",
        "donnees a l etranger", "roam like at home",
    ),
    "esim": ("esim", "e sim", "embedded sim", "sim virtual", "sim virtuelle", "perfil esim"),
    "bgp": (
        "bgp", "border gateway protocol", "peering", "ip transit", "route leak", "as path",
        "anuncio de prefijos", "annonce de prefixes", "prefix announcement",
    ),
    "ddos": (
        "ddos", "denial of service", "denegacion de servicio", "deni de service", "scrubbing",
        "mitigacion", "mitigation", "volumetric attack", "ataque volumetrico",
        "attaque volumetrique",
    ),
}
# fmt: on
# How much a record of a source says about what its author knows.
SOURCE_WEIGHT = {"wiki": 1.0, "blog": 1.0, "helpdesk": 0.8, "microblog": 0.5}
DECLARING_SOURCES = frozenset({"hr", "profile"})  # where a person states their own skills
HALF_LIFE_DAYS = 180.0
DECLARED_BONUS = 0.5
SNIPPETS = 3  # evidence texts kept per person and skill
TOP_PER_SKILL = 1000  # people ranked on each skill (a search reads these)
CARD_FIELDS = ("department", "title", "location", "manager")
_REFRESH_CHUNK = 500


def _pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    skill_of = {phrase: skill for skill, phrases in LEXICON.items() for phrase in phrases}
    alternatives = sorted(skill_of, key=len, reverse=True)  # the longest phrase wins
    body = "|".join(re.escape(p) for p in alternatives)
    return re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z0-9])"), skill_of


_PHRASES, _SKILL_OF = _pattern()
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def normalise_text(text: str) -> str:
    """Folded words separated by single spaces ("Dual-Stack IPv6!" -> "dual stack ipv6")."""
    return _NOT_WORD.sub(" ", fold(text)).strip()


def skills_in(text: str) -> Counter[str]:
    """The skills a text mentions, with how often."""
    return Counter(_SKILL_OF[m.group(0)] for m in _PHRASES.finditer(normalise_text(text)))


def skill_of_topic(topic: str) -> str | None:
    """The skill an explicit topic names: a lexicon skill, or the topic itself as a slug."""
    words = normalise_text(topic)
    if not words:
        return None
    slug = words.replace(" ", "-")
    if slug in LEXICON:
        return slug
    found = skills_in(topic)
    return found.most_common(1)[0][0] if found else slug


@dataclass(frozen=True)
class Evidence:
    """What one record says about one skill of its author."""

    skill: str
    weight: float  # before recency
    declared: bool


def record_evidence(source: str, kind: str, text: str | None, topics: list[str]) -> list[Evidence]:
    """The skills an employee's record is evidence of: declared (topics on their
    own HR or profile record) or inferred (topics and text of what they wrote or
    answered). A customer's message shows a problem, not expertise: none."""
    if kind != "employee":
        return []
    if source in DECLARING_SOURCES:
        declared = {s for t in topics if (s := skill_of_topic(t))}
        return [Evidence(skill, 1.0, declared=True) for skill in sorted(declared)]
    weight = SOURCE_WEIGHT.get(source, 0.7)
    mentioned = set(skills_in(text or ""))
    mentioned |= {s for t in topics if (s := skill_of_topic(t))}
    return [Evidence(skill, weight, declared=False) for skill in sorted(mentioned)]


@dataclass(frozen=True)
class Expertise:
    """How much a person knows of a skill, and why (the score's parts)."""

    skill: str
    score: float
    inferred: float  # sum of evidence weights, each halved every HALF_LIFE_DAYS
    evidence: int  # records (declared ones included)
    declared: bool
    last_seen: str | None


def expertise(
    skill: str, items: list[tuple[float, bool, str | None]], now: datetime | None = None
) -> Expertise:
    """Sum a person's evidence for a skill: (weight, declared, observed_at) each.
    score = log2(1 + recency-weighted inferred evidence) + 0.5 if declared."""
    now = now or datetime.now(UTC)
    inferred = sum(weight * _recency(at, now) for weight, declared, at in items if not declared)
    declared = any(d for _, d, _ in items)
    score = math.log2(1.0 + inferred) + (DECLARED_BONUS if declared else 0.0)
    seen = [at for _, _, at in items if at]
    return Expertise(skill, round(score, 4), round(inferred, 4), len(items), declared,
                     max(seen) if seen else None)  # fmt: skip


def _recency(at: str | None, now: datetime) -> float:
    if not at:
        return 0.5
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return 0.5
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    age_days = max(0.0, (now - moment).total_seconds() / 86400)
    return float(0.5 ** (age_days / HALF_LIFE_DAYS))


def refresh_expertise(writer: GraphWriter, profile_ids: Iterable[str]) -> int:
    """Recompute what the given employee profiles know from their records'
    evidence, their cards, and each skill's ranking of who knows it best.
    Returns the profiles done."""
    ids = sorted(set(profile_ids))
    for start in range(0, len(ids), _REFRESH_CHUNK):
        chunk = ids[start : start + _REFRESH_CHUNK]
        evidence: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for row in writer.evidence_of(chunk):
            evidence[(row["pid"], row["skill"])].append(row)
        now = datetime.now(UTC)
        rows = [_knows(pid, skill, found, now) for (pid, skill), found in sorted(evidence.items())]
        writer.replace_expertise(chunk, rows, _cards(writer, chunk))
        _rerank(writer, chunk, rows)
    return len(ids)


def _knows(pid: str, skill: str, found: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """A KNOWS edge: the expertise, and its newest evidence with text as snippets."""
    items = [(float(r["weight"]), bool(r["declared"]), r["observed_at"]) for r in found]
    newest = sorted((r for r in found if r["text"]), key=lambda r: r["observed_at"] or "",
                    reverse=True)[:SNIPPETS]  # fmt: skip
    snippets = [{"record": r["key"], "source": r["source"], "at": r["observed_at"],
                 "text": _clip(r["text"])} for r in newest]  # fmt: skip
    return dict(vars(expertise(skill, items, now)), pid=pid, snippets=json.dumps(snippets))


def _clip(text: str, limit: int = 180) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cards(writer: GraphWriter, profile_ids: list[str]) -> dict[str, str]:
    """Who each person is and how to reach them, from their own records (the
    newest value of each attribute wins; generic values are left out)."""
    found: dict[str, dict[str, Any]] = {pid: {"contact": []} for pid in profile_ids}
    rows = writer.own_records(profile_ids, sorted(DECLARING_SOURCES))
    for row in sorted(rows, key=lambda r: r["observed_at"] or ""):
        card = found[row["pid"]]
        attributes = json.loads(row["attributes"] or "{}")
        for name in CARD_FIELDS:
            value = attributes.get(name) or (attributes.get("city") if name == "location" else None)
            if value:
                card[name] = value
        for type_, value, generic in row["identifiers"]:
            if type_ is not None and not generic and [type_, value] not in card["contact"]:
                card["contact"].append([type_, value])
    return {pid: json.dumps(card, ensure_ascii=False) for pid, card in found.items()}


def _rerank(writer: GraphWriter, profile_ids: list[str], rows: list[dict[str, Any]]) -> None:
    """Update each touched skill's ranking of its best people (kept on the skill,
    so a search reads one list instead of every person who knows it)."""
    by_skill: dict[str, dict[str, float]] = defaultdict(dict)
    for row in rows:
        by_skill[row["skill"]][row["pid"]] = row["score"]
    if not by_skill:
        return
    refreshed = set(profile_ids)
    tops = {}
    for skill, stored in writer.skill_tops(sorted(by_skill)).items():
        ranked = {pid: score for pid, score in json.loads(stored) if pid not in refreshed}
        ranked.update(by_skill[skill])
        best = sorted(ranked.items(), key=lambda item: (-item[1], item[0]))[:TOP_PER_SKILL]
        tops[skill] = json.dumps(best)
    writer.set_skill_tops(tops)
