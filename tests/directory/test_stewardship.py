"""The stewards' actions on the real embedded graph: judgements that last through
every later resolution, merge, split, overrides, undo, the queue, export and
import; and over HTTP, who may do them."""

from __future__ import annotations

from typing import Any

import pytest

from directory import stewardship
from directory.auth import Role
from directory.priority import source_rank
from directory.profiles import golden_record
from directory.settings import Settings
from graph.embedded import open_embedded
from graph.store import GraphWriter
from resolvers.batch import resolve_all
from tests.conftest import LiveServer, gql
from tests.helpers import load, profile_of, rec
from tests.resolvers.population import population

# Mother and daughter, both Ana Pérez, on the family email: one profile until a
# steward splits them.
FAMILY = [
    rec("crm", "1", "Ana Pérez", email="perez.family@x.org", phone="+34 600 111 222"),
    rec("web", "2", "Ana", email="perez.family@x.org", device="d-ana"),
    rec("crm", "3", "Ana Pérez", email="perez.family@x.org", account="ACC-9"),
    rec("helpdesk", "4", "Ana Perez", account="ACC-9"),
]


def _state(writer: GraphWriter, profile_ids: list[str]) -> dict[str, Any]:
    """What a profile is, as a steward would compare it: records, name, redirect."""
    return writer.profile_heads(profile_ids)


def _full_resolution(writer: GraphWriter, settings: Settings) -> None:
    resolve_all(
        writer, thresholds=settings.thresholds, source_rank=settings.source_rank, force=True
    )


def test_a_split_holds_against_shared_identifiers_and_re_resolution(
    falkor: GraphWriter, settings: Settings
) -> None:
    load(falkor, FAMILY, settings)
    family = profile_of(falkor, "crm", "1")
    assert profile_of(falkor, "helpdesk", "4") == family  # the shared email joins them all
    event = stewardship.split(
        falkor, settings, profile_id=family, records=["crm/3", "helpdesk/4"], by="sara"
    )
    luis = profile_of(falkor, "crm", "3")
    assert luis != family
    assert profile_of(falkor, "crm", "1") == family  # the profile keeps its id
    assert profile_of(falkor, "helpdesk", "4") == luis
    assert event.action == "split"
    assert event.by == "sara"
    # Nothing the machine does re-merges them: a new record on the shared
    # phone, a re-ingest, a full re-resolution.
    load(falkor, [rec("call", "5", "Ana Pérez", email="perez.family@x.org"), *FAMILY], settings)
    _full_resolution(falkor, settings)
    assert profile_of(falkor, "crm", "1") == profile_of(falkor, "web", "2") == family
    assert profile_of(falkor, "crm", "3") == profile_of(falkor, "helpdesk", "4") == luis


def test_undo_of_a_split_restores_the_exact_previous_state(
    falkor: GraphWriter, settings: Settings
) -> None:
    load(falkor, FAMILY, settings)
    family = profile_of(falkor, "crm", "1")
    before = _state(falkor, [family])
    event = stewardship.split(falkor, settings, profile_id=family, records=["crm/3"], by="sara")
    moved_to = profile_of(falkor, "crm", "3")
    undone = stewardship.undo(falkor, settings, event_id=event.id, by="sara")
    assert _state(falkor, [family]) == before
    assert falkor.resolve_profile_id(moved_to) == family  # the split-off id redirects
    assert undone.action == "undo"
    assert falkor.event(event.id).undone_by == undone.id  # type: ignore[union-attr]
    with pytest.raises(stewardship.StewardError, match="already undone"):
        stewardship.undo(falkor, settings, event_id=event.id, by="sara")
    _full_resolution(falkor, settings)  # the retraction is replayed too
    assert _state(falkor, [family])[family]["records"] == before[family]["records"]


def test_merge_keeps_the_chosen_id_and_undo_brings_both_back(
    falkor: GraphWriter, settings: Settings
) -> None:
    load(falkor, [rec("crm", "1", "Carlos Francavilla", email="carlos@x.org"),
                  rec("crm", "2", "Carlos González", email="cgonzalez@x.org"),
                  rec("twitter", "3", "Carlos F.", twitter="@cfrancavilla")], settings)  # fmt: skip
    small, big = profile_of(falkor, "twitter", "3"), profile_of(falkor, "crm", "1")
    before = _state(falkor, [small, big])
    event = stewardship.merge(falkor, settings, profile_ids=[big, small], survivor=small, by="sara")
    assert profile_of(falkor, "crm", "1") == profile_of(falkor, "twitter", "3") == small
    assert falkor.resolve_profile_id(big) == small  # the other id redirects
    _full_resolution(falkor, settings)  # "same" judgements keep them together
    assert profile_of(falkor, "crm", "1") == small
    stewardship.undo(falkor, settings, event_id=event.id, by="sara")
    assert _state(falkor, [small, big]) == before
    assert {e.action for e in stewardship.history(falkor, profile_id=big)} >= {"merge", "undo"}


def test_undo_is_refused_while_a_later_action_depends_on_it(
    falkor: GraphWriter, settings: Settings
) -> None:
    load(falkor, FAMILY, settings)
    family = profile_of(falkor, "crm", "1")
    first = stewardship.split(falkor, settings, profile_id=family, records=["crm/3", "helpdesk/4"],
                              by="sara")  # fmt: skip
    luis = profile_of(falkor, "crm", "3")
    second = stewardship.split(falkor, settings, profile_id=luis, records=["helpdesk/4"], by="sara")
    with pytest.raises(stewardship.StewardError, match=f"split {second.id}"):
        stewardship.undo(falkor, settings, event_id=first.id, by="sara")
    stewardship.undo(falkor, settings, event_id=second.id, by="sara")
    stewardship.undo(falkor, settings, event_id=first.id, by="sara")
    assert len({profile_of(falkor, *key.split("/")) for key in
                ("crm/1", "web/2", "crm/3", "helpdesk/4")}) == 1  # fmt: skip


def test_not_the_same_from_the_queue_survives_full_re_resolution(
    falkor: GraphWriter, settings: Settings
) -> None:
    records, _ = population(people=60)
    load(falkor, records, settings)
    _full_resolution(falkor, settings)
    queue = stewardship.review_queue(falkor, first=200)
    assert queue, "the population has review candidates"
    ranks = [item.priority for item in queue]
    assert ranks == sorted(ranks, reverse=True)
    top = queue[0].candidate
    stewardship.decide(falkor, settings, left=top.left, right=top.right, decision="different",
                       by="sara", reason="different contracts")  # fmt: skip
    pairs = {(i.candidate.left, i.candidate.right) for i in stewardship.review_queue(falkor)}
    assert (top.left, top.right) not in pairs
    _full_resolution(falkor, settings)
    assert profile_of(falkor, *top.left.split("/")) != profile_of(falkor, *top.right.split("/"))
    judged = falkor.judgement_history(top.left, top.right)
    assert [(j.decision, j.by, j.reason) for j in judged] == [
        ("different", "sara", "different contracts")
    ]
    assert judged[0].score == pytest.approx(top.probability)
    # "Unsure" keeps a candidate aside, in its own list.
    other = next(i.candidate for i in stewardship.review_queue(falkor))
    stewardship.decide(falkor, settings, left=other.left, right=other.right, decision="unsure",
                       by="sara")  # fmt: skip
    unsure = stewardship.review_queue(falkor, status="unsure")
    assert [(i.candidate.left, i.candidate.right) for i in unsure] == [(other.left, other.right)]


def test_same_person_joins_and_a_newer_judgement_supersedes(
    falkor: GraphWriter, settings: Settings
) -> None:
    pepe = rec("crm", "1", "Pepe González", email="pepe@x.org")
    load(falkor, [pepe, rec("call", "2", "José González Pérez", phone="+34 611 000 111")], settings)
    stewardship.decide(falkor, settings, left="crm/1", right="call/2", decision="same", by="sara")
    assert profile_of(falkor, "crm", "1") == profile_of(falkor, "call", "2")
    stewardship.decide(falkor, settings, left="call/2", right="crm/1", decision="different",
                       by="marc")  # fmt: skip
    assert profile_of(falkor, "crm", "1") != profile_of(falkor, "call", "2")
    history = falkor.judgement_history("crm/1", "call/2")
    assert [j.decision for j in history] == ["same", "different"]  # nothing deleted
    assert [j.decision for j in falkor.current_judgements(["crm/1"])] == ["different"]


def test_an_override_wins_over_source_priority_until_cleared(
    falkor: GraphWriter, settings: Settings
) -> None:
    load(falkor, [rec("crm", "1", "Jose Gonzalez", email="jg@x.org"),
                  rec("twitter", "2", "Pepe G.", email="jg@x.org")], settings)  # fmt: skip
    pid = profile_of(falkor, "crm", "1")
    assert falkor.profile(pid).display_name == "Jose Gonzalez"  # type: ignore[union-attr]
    event = stewardship.override(falkor, settings, profile_id=pid, attribute="name",
                                 value="José González", by="sara")  # fmt: skip
    assert falkor.profile(pid).display_name == "José González"  # type: ignore[union-attr]
    load(falkor, [rec("crm", "1", "Jose Gonzalez", email="jg@x.org", phone="+34 600 000 001")],
         settings)  # fmt: skip
    _full_resolution(falkor, settings)
    assert falkor.profile(pid).display_name == "José González"  # type: ignore[union-attr]
    stewardship.undo(falkor, settings, event_id=event.id, by="sara")
    assert falkor.profile(pid).display_name == "Jose Gonzalez"  # type: ignore[union-attr]
    with pytest.raises(stewardship.StewardError, match="no attribute"):
        stewardship.override(falkor, settings, profile_id=pid, attribute="shoe", value="x", by="s")


def test_judgements_export_and_import_into_another_graph(
    falkor: GraphWriter, graph: GraphWriter, settings: Settings
) -> None:
    for writer in (falkor, graph):
        load(writer, FAMILY, settings)
    family = profile_of(falkor, "crm", "1")
    stewardship.split(falkor, settings, profile_id=family, records=["crm/3", "helpdesk/4"],
                      by="sara")  # fmt: skip
    exported = list(stewardship.export_judgements(falkor))
    lines = [(n, item) for n, item in enumerate(exported, 1)]
    lines.append((len(lines) + 1, {"left": "crm/1", "right": "crm/404", "decision": "same"}))
    report = stewardship.import_judgements(graph, settings, lines, by="import")
    assert report.imported == len(exported)
    assert report.skipped == [(len(lines), "no record 'crm/404'")]
    assert profile_of(graph, "crm", "1") != profile_of(graph, "crm", "3")
    assert profile_of(graph, "crm", "3") == profile_of(graph, "helpdesk", "4")


MERGE = """mutation($ids: [ID!]!) { merge(profileIds: $ids) { id action by profiles } }"""
QUEUE = """{ reviewQueue(first: 5) { left right priority status leftProfile } }"""


def test_steward_actions_over_graphql_need_the_steward_role(
    server: LiveServer, keys: dict[Role, str], settings: Settings
) -> None:
    backend = open_embedded(settings.data_dir)
    try:
        writer = GraphWriter(backend)
        load(writer, FAMILY[:1] + FAMILY[3:], settings)
        ids = [profile_of(writer, "crm", "1"), profile_of(writer, "helpdesk", "4")]
    finally:
        backend.close()
    refused = gql(server, keys[Role.AGENT], MERGE, ids=ids).json()
    assert "steward" in refused["errors"][0]["message"]
    assert "steward" in gql(server, keys[Role.AGENT], QUEUE).json()["errors"][0]["message"]
    merged = gql(server, keys[Role.STEWARD], MERGE, ids=ids).json()["data"]["merge"]
    assert merged["action"] == "merge"
    assert set(ids) <= set(merged["profiles"])
    assert merged["by"].startswith("steward-")  # attributed to the key
    again = gql(server, keys[Role.STEWARD], MERGE, ids=ids).json()
    assert "two or more different live profiles" in again["errors"][0]["message"]
    undo = "mutation($id: ID!) { undo(actionId: $id) { action summary } }"
    undone = gql(server, keys[Role.STEWARD], undo, id=merged["id"]).json()["data"]["undo"]
    assert undone["action"] == "undo"
    assert merged["id"] in undone["summary"]
    history = "{ history(first: 5) { action undoneBy } }"
    found = gql(server, keys[Role.STEWARD], history).json()["data"]["history"]
    assert [entry["action"] for entry in found] == ["undo", "merge"]
    assert found[0]["undoneBy"] is None
    assert found[1]["undoneBy"] is not None


def test_queue_snapshots_hide_decided_pairs_at_once_and_follow_changes(
    falkor: GraphWriter, settings: Settings
) -> None:
    snapshots = stewardship.QueueSnapshots(ttl_s=3600, min_interval_s=3600)
    assert snapshots.items(falkor) == []  # an empty graph: nothing kept yet
    records, _ = population(people=40)
    load(falkor, records, settings)
    _full_resolution(falkor, settings)
    # The graph says the queue changed, and what was kept is empty: read again now.
    shown = snapshots.items(falkor, first=5)
    assert [i.candidate for i in shown] == [
        i.candidate for i in stewardship.review_queue(falkor, first=5)
    ]
    # A filter is read off the whole queue when that holds enough of it.
    narrowed = snapshots.items(falkor, source="twitter", first=5)
    assert narrowed
    assert [i.candidate for i in narrowed] == [
        i.candidate for i in stewardship.review_queue(falkor, source="twitter", first=5)
    ]
    top = shown[0].candidate
    snapshots.forget(top.left, top.right)
    assert top not in [i.candidate for i in snapshots.items(falkor, first=5)]


def test_same_is_refused_across_a_standing_not_the_same(
    falkor: GraphWriter, settings: Settings
) -> None:
    load(falkor, FAMILY, settings)
    family = profile_of(falkor, "crm", "1")
    stewardship.split(falkor, settings, profile_id=family, records=["crm/3", "helpdesk/4"],
                      by="sara")  # fmt: skip
    with pytest.raises(stewardship.StewardError, match="not the same"):
        stewardship.decide(falkor, settings, left="web/2", right="helpdesk/4", decision="same",
                           by="marc")  # fmt: skip
    other = profile_of(falkor, "crm", "3")
    stewardship.merge(falkor, settings, profile_ids=[family, other], survivor=family, by="marc")
    assert profile_of(falkor, "helpdesk", "4") == family  # a merge overrules it


def test_stewards_set_which_source_wins_and_can_undo_it(
    falkor: GraphWriter, settings: Settings
) -> None:
    load(falkor, [rec("crm", "1", "Jose Gonzalez", email="jg@x.org"),
                  rec("twitter", "2", "Pepe G.", email="jg@x.org")], settings)  # fmt: skip
    pid = profile_of(falkor, "crm", "1")

    def shown() -> str:
        profile = falkor.profile(pid)
        assert profile is not None
        golden = golden_record(profile, source_rank(falkor, settings))
        return next(g.value for g in golden if g.name == "name")

    assert shown() == "Jose Gonzalez"
    event = stewardship.set_source_priority(falkor, settings, order=["twitter", "crm"], by="sara")
    assert shown() == "Pepe G."
    load(falkor, [rec("crm", "1", "Jose Gonzalez", email="jg@x.org", phone="+34 600 000 002")],
         settings)  # fmt: skip
    assert falkor.profile(pid).display_name == "Pepe G."  # type: ignore[union-attr]
    stewardship.undo(falkor, settings, event_id=event.id, by="sara")
    assert shown() == "Jose Gonzalez"
    with pytest.raises(stewardship.StewardError, match="at least one source"):
        stewardship.set_source_priority(falkor, settings, order=[" "], by="sara")
