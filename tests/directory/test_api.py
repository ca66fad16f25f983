"""The HTTP API on a real server: roles, ingest, the tweet -> profile story."""

from __future__ import annotations

import json

import httpx

from directory.auth import Role
from directory.settings import Settings
from graph.embedded import stop_embedded
from tests.conftest import LiveServer, gql

STORY = [
    {
        "source": "crm",
        "source_id": "C-000123",
        "observed_at": "2026-01-10T09:00:00Z",
        "name": "Carlos Francavilla",
        "identifiers": [
            {"type": "email", "value": "Carlos.F@gmail.com"},
            {"type": "phone", "value": "+54 11 4555-1234"},
            {"type": "account", "value": "AR-0099812"},
            {"type": "twitter", "value": "@cfrancavilla"},
        ],
        "attributes": {"city": "Buenos Aires", "country": "AR"},
    },
    {
        "source": "twitter",
        "source_id": "1790001",
        "observed_at": "2026-03-01T10:00:00Z",
        "name": "Carlos F.",
        "identifiers": [
            {"type": "twitter", "value": "https://x.com/CFrancavilla"},
            {"type": "ip", "value": "181.2.3.4", "seen_at": "2026-03-01T10:00:00Z"},
        ],
        "text": "my internet is at 1 Mbps again",
    },
    {
        "source": "helpdesk",
        "source_id": "T-55",
        "observed_at": "2026-02-01T12:00:00Z",
        "name": "carlos",
        "identifiers": [{"type": "email", "value": "carlosf+router@gmail.com"}],
        "text": "Router keeps rebooting",
    },
]

PROFILE = """
query($type: String!, $value: String!) {
  lookup(identifier: {type: $type, value: $value}) {
    id displayName kind recordCount
    identifiers { type value sources }
    identifierGroups { type values { value } }
    facets { source names attributes { name value } }
    timeline { source text }
    records { source sourceId link { rule via description } }
  }
}
"""


def _post_records(server: LiveServer, key: str, body: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/records",
        content=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )


def test_health_needs_no_key_and_everything_else_does(server: LiveServer) -> None:
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok", "graph": "falkordb"}
    assert gql(server, None, "{ __typename }").status_code == 401
    assert gql(server, "dir_not-a-key", "{ __typename }").status_code == 401
    assert httpx.post(f"{server.url}/records", content="[]").status_code == 401


def test_roles_are_enforced(server: LiveServer, keys: dict[Role, str]) -> None:
    assert _post_records(server, keys[Role.AGENT], "[]").status_code == 403
    assert _post_records(server, keys[Role.STEWARD], "[]").status_code == 403
    assert _post_records(server, keys[Role.ADMIN], "[]").status_code == 200
    mutation = 'mutation { ingest(records: [{source: "crm", source_id: "1"}]) { created } }'
    refused = gql(server, keys[Role.AGENT], mutation).json()
    assert refused["data"] is None
    assert "admin role" in refused["errors"][0]["message"]
    assert gql(server, keys[Role.ADMIN], mutation).json()["data"] == {"ingest": {"created": 1}}


def test_tweet_to_profile(server: LiveServer, keys: dict[Role, str]) -> None:
    body = "\n".join(json.dumps(r) for r in STORY)  # JSONL
    report = _post_records(server, keys[Role.ADMIN], body).json()
    assert (report["created"], report["profiles_created"], report["rejected"]) == (3, 1, [])

    answer = gql(server, keys[Role.AGENT], PROFILE, type="twitter", value="@cfrancavilla")
    profile = answer.json()["data"]["lookup"]
    assert profile["displayName"] == "Carlos Francavilla"
    assert profile["kind"] == "customer"
    assert profile["recordCount"] == 3
    values = {(i["type"], i["value"]) for i in profile["identifiers"]}
    assert {("email", "carlosf@gmail.com"), ("account", "AR0099812"),
            ("phone", "+541145551234"), ("twitter", "cfrancavilla")} <= values  # fmt: skip
    assert [e["text"] for e in profile["timeline"]] == [
        "my internet is at 1 Mbps again",
        "Router keeps rebooting",
    ]
    twitter = next(f for f in profile["facets"] if f["source"] == "twitter")
    assert twitter["names"] == ["Carlos F."]
    tweet = next(r for r in profile["records"] if r["source"] == "twitter")
    assert tweet["link"]["via"] == "twitter:cfrancavilla"

    by_id = gql(server, keys[Role.AGENT], "query($id: ID!) { profile(id: $id) { id } }",
                id=profile["id"])  # fmt: skip
    assert by_id.json()["data"]["profile"]["id"] == profile["id"]
    found = gql(server, keys[Role.AGENT], '{ searchProfiles(name: "francavilla") { id } }')
    assert found.json()["data"]["searchProfiles"] == [{"id": profile["id"]}]
    nobody = gql(server, keys[Role.AGENT], PROFILE, type="email", value="nobody@example.com")
    assert nobody.json()["data"]["lookup"] is None


def test_rest_ingest_reports_bad_records_by_position(
    server: LiveServer, keys: dict[Role, str]
) -> None:
    body = json.dumps([STORY[0], {"source": "crm"}, STORY[1]])
    report = _post_records(server, keys[Role.ADMIN], body).json()
    assert report["created"] == 2
    assert [r["line"] for r in report["rejected"]] == [2]
    assert "source_id" in report["rejected"][0]["reason"]


def test_a_graph_failure_is_masked_and_health_says_so(
    server: LiveServer, keys: dict[Role, str], settings: Settings
) -> None:
    assert gql(server, keys[Role.AGENT], "{ __typename }").status_code == 200  # key now known
    stop_embedded(settings.data_dir)  # the graph goes away under the running service
    answer = gql(server, keys[Role.AGENT], PROFILE, type="email", value="ana@example.com").json()
    assert answer["data"] == {"lookup": None}
    assert answer["errors"][0]["message"] == "internal error: the server log has the details"
    assert "redis" not in str(answer).lower()
    health = httpx.get(f"{server.url}/health")
    assert (health.status_code, health.json()["status"]) == (503, "degraded")
    unseen_key = gql(server, keys[Role.STEWARD], "{ __typename }")  # needs the graph to check
    assert unseen_key.status_code == 503
    assert unseen_key.json() == {"detail": "the identity graph is unavailable; try again shortly"}


IP_LOOKUP = """query($ip: String!, $at: String) {
  lookup(identifier: {type: "ip", value: $ip, at: $at}) { displayName }
  ipCandidates(ip: $ip, at: $at) {
    profile { displayName } sightings closestSeenAt distanceSeconds leased
  }
}"""


def test_an_ip_is_looked_up_at_a_time(server: LiveServer, keys: dict[Role, str]) -> None:
    """A household IP: candidates near the time asked; a profile only from a lease."""
    records = [
        {"source": "web", "source_id": "s1", "name": "Ana Pérez", "identifiers": [
            {"type": "account", "value": "AR-1"},
            {"type": "ip", "value": "181.2.3.4", "seen_at": "2026-03-01T10:00:00Z"}]},
        {"source": "web", "source_id": "s2", "name": "Luis Pérez", "identifiers": [
            {"type": "email", "value": "luis@x.org"},
            {"type": "ip", "value": "181.2.3.4", "seen_at": "2026-03-05T22:00:00Z"}]},
    ]  # fmt: skip
    posted = _post_records(server, keys[Role.ADMIN], json.dumps(records))
    assert posted.status_code == 200, posted.text
    near_ana = gql(server, keys[Role.AGENT], IP_LOOKUP, ip="181.2.3.4", at="2026-03-01T11:30:00Z")
    data = near_ana.json()["data"]
    assert data["lookup"] is None  # a web session is weak evidence
    assert [c["profile"]["displayName"] for c in data["ipCandidates"]] == ["Ana Pérez"]
    assert data["ipCandidates"][0]["distanceSeconds"] == 5400
    assert data["ipCandidates"][0]["leased"] is False
    lease = [{"source": "isp_lease", "source_id": "l1", "identifiers": [
        {"type": "account", "value": "AR-1"},
        {"type": "ip", "value": "181.2.3.4", "seen_at": "2026-03-01T09:00:00Z"}]}]  # fmt: skip
    assert _post_records(server, keys[Role.ADMIN], json.dumps(lease)).status_code == 200
    leased = gql(server, keys[Role.AGENT], IP_LOOKUP, ip="181.2.3.4", at="2026-03-01T11:30:00Z")
    assert leased.json()["data"]["lookup"] == {"displayName": "Ana Pérez"}
    assert leased.json()["data"]["ipCandidates"][0]["leased"] is True
    later = gql(server, keys[Role.AGENT], IP_LOOKUP, ip="181.2.3.4", at="2026-03-05T21:00:00Z")
    assert later.json()["data"]["lookup"] is None  # days after the lease: Luis was there
    anytime = gql(server, keys[Role.AGENT], IP_LOOKUP, ip="181.2.3.4").json()["data"]
    assert anytime["lookup"] is None
    assert {c["profile"]["displayName"] for c in anytime["ipCandidates"]} == {
        "Ana Pérez", "Luis Pérez"}  # fmt: skip
    bad = gql(server, keys[Role.AGENT], IP_LOOKUP, ip="181.2.3.4", at="yesterday").json()
    assert "ISO-8601" in bad["errors"][0]["message"]


def test_graphql_answers_like_graphql_over_http(server: LiveServer, keys: dict[Role, str]) -> None:
    url, auth = f"{server.url}/graphql", {"Authorization": f"Bearer {keys[Role.ADMIN]}"}
    typename = httpx.get(url, params={"query": "{ __typename }"}, headers=auth)
    assert typename.json() == {"data": {"__typename": "Query"}}
    ingest = "mutation { ingest(records: []) { created } }"
    over_get = httpx.get(url, params={"query": ingest}, headers=auth)
    assert over_get.status_code == 400
    assert over_get.text == "mutations are not allowed when using GET"
    assert httpx.post(url, content=b"{not json", headers=auth).status_code == 400
    assert httpx.post(url, json={"variables": {}}, headers=auth).status_code == 400
    listed = httpx.post(url, json={"query": "{ __typename }", "variables": []}, headers=auth)
    assert listed.status_code == 400
    invalid = gql(server, keys[Role.AGENT], "{ noSuchField }")
    assert invalid.status_code == 200
    assert invalid.json()["data"] is None
    assert "noSuchField" in invalid.json()["errors"][0]["message"]
    missing = gql(server, keys[Role.AGENT], PROFILE, type="email")  # $value not given
    assert "$value" in missing.json()["errors"][0]["message"]
    page = httpx.get(url, headers={"Accept": "text/html"})  # GraphiQL, no key needed
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    assert httpx.get(url, params={"query": "{ __typename }"}).status_code == 401
    assert httpx.put(url, json={"query": "{ __typename }"}, headers=auth).status_code == 405
