"""Expert search over GraphQL on the real embedded graph: multilingual
questions, evidence, the score's parts, and privacy (not searchable, fields
limited to some roles)."""

from __future__ import annotations

from typing import Any

from directory.auth import Role
from directory.settings import Settings
from graph.embedded import open_embedded
from graph.store import GraphWriter
from tests.conftest import LiveServer, gql
from tests.helpers import load, profile_of, rec

EXPERTS = """query($q: String!) { experts(query: $q, first: 5) {
  score profile { id displayName } department title location
  skills { skill score evidence declared } contact { type value } evidence { source text } } }"""


def _employee(
    eid: str, name: str, department: str, *activity: tuple[str, str]
) -> list[dict[str, Any]]:
    hr = rec("hr", eid, name, employee_id=eid, phone=f"+34 91 000 0{eid[-3:]}") | {
        "kind": "employee", "attributes": {"department": department, "title": "Engineer",
                                           "location": "Madrid"}}  # fmt: skip
    posts = [
        rec(source, f"{eid}-{n}", name, employee_id=eid) | {
            "kind": "employee", "text": text, "observed_at": "2026-10-01T00:00:00Z"}
        for n, (source, text) in enumerate(activity)
    ]  # fmt: skip
    return [hr, *posts]


def _load(settings: Settings) -> str:
    backend = open_embedded(settings.data_dir)
    try:
        writer = GraphWriter(backend)
        load(writer, [
            *_employee("E001", "Ana Gil", "Network Engineering",
                       ("wiki", "Runbook: IPv6 dual-stack on the residential network."),
                       ("blog", "Adressage IPv6 : délégation de préfixe sur les box."),
                       ("blog", "SLAAC vs DHCPv6 for home routers.")),
            *_employee("E002", "Luis Mora", "Customer Care",
                       ("microblog", "Hoy aprendí algo de IPv6 #ipv6")),
            *_employee("E003", "Marie Roux", "Billing Systems",
                       ("wiki", "Pourquoi « Option Portail Mobile » sur la facture.")),
            *_employee("E004", "Hidden Person", "Network Engineering",
                       ("wiki", "IPv6 everywhere: dual stack, SLAAC, prefix delegation."),
                       ("wiki", "More IPv6 dual stack notes."),
                       ("blog", "IPv6 doble pila en la red."),
                       ("blog", "IPv6 again.")),
            rec("helpdesk", "T1", "Carlos F.", twitter="@cfrancavilla")
            | {"text": "Mi router no obtiene dirección IPv6"},  # a customer: no expert
        ], settings)  # fmt: skip
        return profile_of(writer, "hr", "E004")
    finally:
        backend.close()


def test_experts_answer_in_any_language_with_evidence_and_privacy(
    server: LiveServer, keys: dict[Role, str], settings: Settings
) -> None:
    hidden = _load(settings)
    hits = gql(server, keys[Role.AGENT], EXPERTS, q="¿Quién sabe del protocolo IP versión 6?")
    found = hits.json()["data"]["experts"]
    names = [h["profile"]["displayName"] for h in found]
    assert names[:3] == ["Hidden Person", "Ana Gil", "Luis Mora"]  # most evidence first
    ana = found[1]
    assert ana["department"] == "Network Engineering"
    assert ana["skills"] == [{"skill": "ipv6", "score": ana["score"], "evidence": 3,
                              "declared": False}]  # fmt: skip
    assert any("délégation de préfixe" in e["text"] for e in ana["evidence"])
    assert {c["type"] for c in ana["contact"]} == {"employee_id"}  # phone: stewards only
    as_steward = gql(server, keys[Role.STEWARD], EXPERTS, q="IPv6").json()["data"]["experts"]
    assert "phone" in {c["type"] for c in as_steward[1]["contact"]}
    # An employee marked not searchable never appears.
    toggle = "mutation($id: ID!) { setSearchable(profileId: $id, searchable: false) }"
    assert (
        "steward" in gql(server, keys[Role.AGENT], toggle, id=hidden).json()["errors"][0]["message"]
    )
    assert gql(server, keys[Role.STEWARD], toggle, id=hidden).json() == {
        "data": {"setSearchable": True}
    }
    after = gql(server, keys[Role.AGENT], EXPERTS, q="adresse IPv6").json()["data"]["experts"]
    assert [h["profile"]["displayName"] for h in after] == ["Ana Gil", "Luis Mora"]
    billing = gql(server, keys[Role.AGENT], EXPERTS, q="what is Acceso a Portal Movil on my bill?")
    assert [h["profile"]["displayName"] for h in billing.json()["data"]["experts"]] == [
        "Marie Roux"
    ]
    nothing = gql(server, keys[Role.AGENT], EXPERTS, q="contraseña olvidada")
    assert nothing.json()["data"]["experts"] == []
