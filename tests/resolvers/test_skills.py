"""The multilingual skill lexicon and what counts as evidence of expertise."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from resolvers.skills import expertise, record_evidence, skill_of_topic, skills_in


@pytest.mark.parametrize(
    ("text", "skills"),
    [
        ("Dual-stack IPv6 on the residential network", {"ipv6"}),
        ("¿Quién sabe del protocolo IP versión 6?", {"ipv6"}),
        ("Problème d'adressage IPv6 sur la box", {"ipv6"}),
        ("IPv6 double pile et résolution de noms", {"ipv6", "dns"}),
        ("No puedo abrir puertos para mi servidor, ¿tengo CGNAT?", {"cgnat"}),
        ("cannot open ports for my game server", {"cgnat"}),
        ("Qué es 'Acceso a Portal Movil' en mi factura", {"billing-codes"}),
        ("la fibra óptica va lenta en hora pico", {"fibre"}),
        ("my internet is at 1 Mbps again", set()),
        ("contraseña olvidada", set()),
        ("ipv6x and xdns are not words we know", set()),  # whole words only
    ],
)
def test_skills_are_read_in_three_languages(text: str, skills: set[str]) -> None:
    assert set(skills_in(text)) == skills


def test_topics_name_lexicon_skills_or_stand_for_themselves() -> None:
    assert skill_of_topic("IPv6") == "ipv6"
    assert skill_of_topic("Billing codes") == "billing-codes"
    assert skill_of_topic("Kubernetes Operators") == "kubernetes-operators"
    assert skill_of_topic("  ") is None


def test_declared_skills_are_kept_apart_and_customers_are_not_experts() -> None:
    declared = record_evidence("hr", "employee", "Likes DNS", ["IPv6"])
    assert [(e.skill, e.declared) for e in declared] == [("ipv6", True)]  # text ignored on HR
    wrote = record_evidence("blog", "employee", "Moving DNS resolvers to anycast", ["5g"])
    assert [(e.skill, e.weight, e.declared) for e in wrote] == [
        ("5g", 1.0, False), ("dns", 1.0, False)]  # fmt: skip
    assert record_evidence("helpdesk", "customer", "My IPv6 is broken", []) == []


def test_expertise_grows_with_evidence_and_fades_with_age() -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    fresh = expertise("ipv6", [(1.0, False, "2026-10-31T00:00:00Z")] * 3, now)
    old = expertise("ipv6", [(1.0, False, "2025-11-01T00:00:00Z")] * 3, now)
    one = expertise("ipv6", [(1.0, False, "2026-10-31T00:00:00Z")], now)
    declared = expertise("ipv6", [(1.0, True, None)], now)
    assert fresh.score > one.score > old.score > 0
    assert fresh.evidence == 3
    assert declared.score == pytest.approx(0.5)
    assert declared.declared
