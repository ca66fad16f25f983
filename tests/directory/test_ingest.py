"""Ingest and deterministic resolution on the real embedded graph."""

from __future__ import annotations

import json
import threading

import pytest

from directory.ingest import attributes_json, ingest_lines
from directory.settings import Settings
from graph.store import GraphWriter
from resolvers.records import iter_jsonl
from tests.helpers import load, profile_of, rec


def test_reingesting_updates_and_never_duplicates(falkor: GraphWriter, settings: Settings) -> None:
    records = [
        rec("crm", "1", "Ana Pérez", email="ana@example.com"),
        rec("helpdesk", "2", "Ana", email="ANA@example.com"),
    ]
    first = load(falkor, records, settings)
    before = falkor.counts()
    second = load(falkor, records, settings)
    assert (first.created, first.updated, first.profiles_created) == (2, 0, 1)
    assert (second.created, second.updated, second.profiles_created) == (0, 2, 0)
    assert falkor.counts() == before == {"records": 2, "identifiers": 1, "profiles": 1}
    mixed = load(falkor, [*records, rec("web", "3", "Ana P", email="ana@example.com")], settings)
    assert (mixed.created, mixed.updated) == (1, 2)  # only the new one is created
    assert falkor.counts() == {"records": 3, "identifiers": 1, "profiles": 1}


def test_bad_lines_are_reported_and_the_rest_goes_in(
    falkor: GraphWriter, settings: Settings
) -> None:
    lines = [
        '{"source": "crm", "source_id": "1", "name": "Ana"}',
        "{not json",
        '{"source": "crm", "source_id": "2", "identifiers": [{"type": "email", "value": "x"}]}',
        "",
        '{"source_id": "3"}',
        '{"source": "crm", "source_id": "4", "name": "Luis"}',
    ]
    report = ingest_lines(falkor, iter_jsonl(lines), settings=settings, origin="batch.jsonl")
    assert report.created == 2
    assert [r.line for r in report.rejected] == [2, 3, 5]
    assert "invalid JSON" in report.rejected[0].reason
    assert "email" in report.rejected[1].reason
    assert "source" in report.rejected[2].reason
    assert falkor.counts()["records"] == 2


def test_dropping_the_only_shared_identifier_splits_the_profile(
    falkor: GraphWriter, settings: Settings
) -> None:
    load(
        falkor,
        [rec("crm", "1", "Ana", email="a@x.org"), rec("web", "2", "Ana", email="a@x.org")],
        settings,
    )
    assert profile_of(falkor, "crm", "1") == profile_of(falkor, "web", "2")
    report = load(falkor, [rec("web", "2", "Ana", device="cookie-1")], settings)
    assert report.profiles_split == 1
    assert profile_of(falkor, "crm", "1") != profile_of(falkor, "web", "2")


def test_a_generic_value_does_not_merge_different_people(
    falkor: GraphWriter, settings: Settings
) -> None:
    # An office switchboard: three customers with different names and accounts.
    people = [("Ana Pérez", "AR-1"), ("Pierre Martin", "AR-2"), ("John Smith", "AR-3")]
    load(
        falkor,
        [
            rec("crm", str(i), name, phone="+54 11 4000-0000", account=account)
            for i, (name, account) in enumerate(people)
        ],
        settings,
    )
    ids = {profile_of(falkor, "crm", str(i)) for i in range(3)}
    assert len(ids) == 3
    stored = falkor.profile(ids.pop())
    assert stored is not None
    phone = next(i for r in stored.records for i in r.identifiers if i.type == "phone")
    assert phone.generic
    assert phone.people == 3


def test_a_value_turning_generic_undoes_the_links_it_made(
    falkor: GraphWriter, settings: Settings
) -> None:
    load(falkor, [rec("crm", "1", "Ana Pérez", email="info@shop.example"),
                  rec("helpdesk", "2", "ana", email="info@shop.example")], settings)  # fmt: skip
    assert profile_of(falkor, "crm", "1") == profile_of(falkor, "helpdesk", "2")
    report = load(falkor, [rec("crm", "3", "Marie Dubois", email="info@shop.example")], settings)
    assert report.generic_marked == 1
    assert report.profiles_split == 1
    assert len({profile_of(falkor, k, i) for k, i in (("crm", "1"), ("helpdesk", "2"),
                                                      ("crm", "3"))}) == 3  # fmt: skip


def test_a_family_email_does_not_merge_the_family(falkor: GraphWriter, settings: Settings) -> None:
    load(falkor, [rec("crm", "1", "Antoine Simon", email="famille.simon@orange.fr", account="A1"),
                  rec("crm", "2", "Camille Simon", email="famille.simon@orange.fr", account="A2"),
                  rec("helpdesk", "3", "camille", email="famille.simon@orange.fr")],
         settings)  # fmt: skip
    assert profile_of(falkor, "crm", "1") != profile_of(falkor, "crm", "2")


def test_nicknames_and_typos_are_the_same_person(falkor: GraphWriter, settings: Settings) -> None:
    load(falkor, [rec("crm", "1", "José González Pérez", phone="+34 612 345 678"),
                  rec("calls", "2", "pepe gonzalez", phone="612345678"),
                  rec("twitter", "3", "Jose Gonzlez", phone="+34612345678")],
         dict_settings(settings, default_region="ES"))  # fmt: skip
    assert len({profile_of(falkor, s, i) for s, i in (("crm", "1"), ("calls", "2"),
                                                      ("twitter", "3"))}) == 1  # fmt: skip


def dict_settings(settings: Settings, **changes: object) -> Settings:
    """A copy of the settings with some values changed."""
    return settings.model_copy(update=changes)


def test_concurrent_ingests_sharing_an_email_end_as_one_profile(
    falkor: GraphWriter, settings: Settings
) -> None:
    from graph.falkordb_backend import FalkorDBBackend

    # Separate connections, as two processes would have.
    def ingest(source: str) -> None:
        other = falkor.backend
        assert isinstance(other, FalkorDBBackend)
        writer = GraphWriter(other.reconnect())
        try:
            for i in range(20):
                load(writer, [rec(source, str(i), "Ana", email=f"ana{i}@example.com")], settings)
        finally:
            writer.backend.close()

    threads = [threading.Thread(target=ingest, args=(s,)) for s in ("crm", "helpdesk")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i in range(20):
        assert profile_of(falkor, "crm", str(i)) == profile_of(falkor, "helpdesk", str(i))
    assert falkor.counts()["profiles"] == 20


def test_name_search_takes_any_text(falkor: GraphWriter, settings: Settings) -> None:
    from directory.profiles import search

    load(falkor, [rec("crm", "1", "Jean-Pierre Dubois", email="jp@x.fr"),
                  rec("crm", "2", "José González", email="jg@x.es")], settings)  # fmt: skip
    assert [p.display_name for p in search(falkor, name="Jean-Pierre", first=5)] == [
        "Jean-Pierre Dubois"
    ]
    assert [p.display_name for p in search(falkor, name="jose gonzalez", first=5)] == [
        "José González"
    ]
    for odd in ("@jp", "a|b", "*", "-", ""):
        search(falkor, name=odd, first=5)  # no engine syntax error


@pytest.mark.parametrize(
    "attributes",
    [{}, {"city": "Sydney"}, {"z": 'é "q" \\ \n\t\x01 \u2028 🚀 東京', "b": "", "a": "x"}],
)
def test_attributes_are_stored_as_json_writes_them(attributes: dict[str, str]) -> None:
    assert attributes_json(attributes) == json.dumps(attributes, ensure_ascii=False, sort_keys=True)
