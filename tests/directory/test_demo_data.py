"""The synthetic population: deterministic, in the record format, with its hard cases."""

from __future__ import annotations

import json
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from itertools import islice
from pathlib import Path

import phonenumbers
import pytest

from directory.demo_data import (
    STORY_HANDLE,
    STORY_PERSON,
    Record,
    Truth,
    generate,
    generate_large,
    generate_with_truth,
    write_jsonl,
)

FIELDS = {"source", "source_id", "kind", "observed_at", "name", "identifiers", "attributes"}
FIELDS |= {"text", "topics"}
COUNTRIES = {"AR", "ES", "FR", "GB", "US"}
SMALL = {"customers": 400, "employees": 40}


@pytest.fixture(scope="module")
def population() -> tuple[list[Record], Truth]:
    """The default demo population, built once for the module."""
    return generate_with_truth()


def key(record: Record) -> str:
    return f"{record['source']}/{record['source_id']}"


def identifiers(record: Record, type_: str | None = None) -> list[dict[str, str]]:
    idents = record.get("identifiers", [])
    assert isinstance(idents, list)
    return [i for i in idents if type_ is None or i["type"] == type_]


def values(record: Record, type_: str) -> list[str]:
    return [i["value"] for i in identifiers(record, type_)]


def attributes(record: Record) -> dict[str, str]:
    attrs = record.get("attributes", {})
    assert isinstance(attrs, dict)
    return attrs


def email_key(email: str) -> str:
    local, _, domain = email.lower().partition("@")
    if domain == "gmail.com":
        local = local.split("+", 1)[0].replace(".", "")
    return f"{local}@{domain}"


def e164(record: Record, phone: str) -> str:
    number = phonenumbers.parse(phone, attributes(record).get("country"))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def people_by(
    records: Iterable[Record], truth: Truth, type_: str, norm: Callable[[Record, str], str]
) -> dict[str, set[str]]:
    """Normalised identifier value -> the people whose records carry it."""
    found: dict[str, set[str]] = defaultdict(set)
    for record in records:
        for value in values(record, type_):
            found[norm(record, value)].add(truth[key(record)])
    return found


def by_email(records: Iterable[Record], truth: Truth) -> dict[str, set[str]]:
    return people_by(records, truth, "email", lambda _, value: email_key(value))


# --- determinism and shape ---------------------------------------------------------------------


def test_same_seed_and_sizes_give_identical_output() -> None:
    first, second = generate(seed=3, **SMALL), generate(seed=3, **SMALL)
    assert json.dumps(first) == json.dumps(second)
    assert generate_with_truth(seed=3, **SMALL) == generate_with_truth(seed=3, **SMALL)


def test_another_seed_gives_another_population() -> None:
    assert generate(seed=3, **SMALL) != generate(seed=4, **SMALL)


def test_source_ids_are_unique_and_truth_covers_every_record(
    population: tuple[list[Record], Truth],
) -> None:
    records, truth = population
    keys = [key(record) for record in records]
    assert len(set(keys)) == len(keys)
    assert set(truth) == set(keys)


def test_every_record_follows_the_format(population: tuple[list[Record], Truth]) -> None:
    records, _ = population
    for record in records:
        assert set(record) <= FIELDS, record
        assert isinstance(record["source"], str)
        assert record["source"]
        assert isinstance(record["source_id"], str)
        assert record["source_id"]
        assert record.get("kind", "customer") in {"customer", "employee"}
        if "observed_at" in record:
            assert isinstance(record["observed_at"], str)
            assert datetime.fromisoformat(record["observed_at"]).tzinfo is not None
        for ident in identifiers(record):
            assert set(ident) <= {"type", "value", "seen_at"}, record
            assert isinstance(ident["type"], str)
            assert ident["type"]
            assert isinstance(ident["value"], str)
            assert ident["value"]
        assert all(isinstance(v, str) and v for v in attributes(record).values()), record
        topics = record.get("topics", [])
        assert isinstance(topics, list)
        assert all(isinstance(topic, str) for topic in topics)
        assert json.loads(json.dumps(record)) == record


def test_countries_are_iso_codes_and_phones_are_valid_numbers(
    population: tuple[list[Record], Truth],
) -> None:
    records, _ = population
    assert {attributes(r)["country"] for r in records if "country" in attributes(r)} == COUNTRIES
    for record in records:
        for phone in values(record, "phone"):
            number = phonenumbers.parse(phone, attributes(record).get("country"))
            assert phonenumbers.is_valid_number(number), (phone, record["source_id"])


def test_channel_coverage_is_realistic(population: tuple[list[Record], Truth]) -> None:
    records, truth = population
    customers = {truth[key(r)] for r in records if r["source"] == "crm"}
    expected = {"crm": 0.99, "billing": 0.9, "helpdesk": 0.4, "twitter": 0.25, "facebook": 0.1}
    expected |= {"linkedin": 0.1, "web": 0.5, "calls": 0.3}
    for source, share in expected.items():
        seen = {truth[key(r)] for r in records if r["source"] == source} & customers
        assert abs(len(seen) / len(customers) - share) < 0.05, source


# --- the story ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("seed", "customers", "employees"), [(2, 500, 50), (1, 1, 0), (99, 60, 5)])
def test_story_records_are_always_present(seed: int, customers: int, employees: int) -> None:
    records, truth = generate_with_truth(seed=seed, customers=customers, employees=employees)
    story = [r for r in records if truth[key(r)] == STORY_PERSON]
    by_source = {r["source"]: r for r in story}

    crm = by_source["crm"]
    assert crm["source_id"] == "C-000123"
    assert crm["name"] == "Carlos Francavilla"
    assert values(crm, "email") == ["Carlos.F@gmail.com"]
    assert values(crm, "phone") == ["+54 11 4555-1234"]
    assert values(crm, "account") == ["AR-0099812"]
    assert values(crm, "twitter") == [STORY_HANDLE]
    assert attributes(crm)["city"] == "Buenos Aires"

    tweet = by_source["twitter"]
    assert (tweet["name"], tweet["text"]) == ("Carlos F.", "my internet is at 1 Mbps again")
    assert values(tweet, "twitter") == [STORY_HANDLE]
    assert values(tweet, "ip")

    assert values(by_source["helpdesk"], "email") == ["carlosf@gmail.com"]
    assert values(by_source["calls"], "phone") == ["011 4555-1234"]
    assert attributes(by_source["calls"])["country"] == "AR"
    web = by_source["web"]
    assert [a.upper().replace(" ", "") for a in values(web, "account")] == ["AR0099812"]
    assert values(web, "ip")

    carriers = {truth[key(r)] for r in records if STORY_HANDLE in values(r, "twitter")}
    assert carriers == {STORY_PERSON}


def test_story_identifiers_belong_to_nobody_else(population: tuple[list[Record], Truth]) -> None:
    records, truth = population
    others = [r for r in records if truth[key(r)] != STORY_PERSON]
    assert "carlosf@gmail.com" not in by_email(others, truth)
    phones = people_by(others, truth, "phone", e164)
    assert "+541145551234" not in phones


# --- hard cases --------------------------------------------------------------------------------


def test_a_generic_business_email_is_carried_by_five_or_more_people(
    population: tuple[list[Record], Truth],
) -> None:
    records, truth = population
    generic = {"info", "soporte", "administracion", "contact", "accueil", "office"}
    shared = {
        email: people
        for email, people in by_email(records, truth).items()
        if email.split("@")[0] in generic and len(people) >= 5
    }
    assert shared


def test_an_office_switchboard_is_shared_by_several_customers(
    population: tuple[list[Record], Truth],
) -> None:
    records, truth = population
    crm = [r for r in records if r["source"] == "crm"]
    assert max(len(people) for people in people_by(crm, truth, "phone", e164).values()) >= 3


def test_families_share_one_email_across_two_people_and_accounts(
    population: tuple[list[Record], Truth],
) -> None:
    records, truth = population
    crm = [r for r in records if r["source"] == "crm"]
    families = [
        people
        for email, people in by_email(crm, truth).items()
        if email.startswith(("familia.", "famille.", "the.")) and len(people) == 2
    ]
    assert families
    accounts = people_by(crm, truth, "account", lambda _, value: value)
    for people in families:
        assert len({a for a, owners in accounts.items() if owners & people}) == 2


def test_some_people_changed_email_or_phone(population: tuple[list[Record], Truth]) -> None:
    records, truth = population
    customer = [r for r in records if r.get("kind") == "customer"]
    emails: dict[str, set[str]] = defaultdict(set)
    phones: dict[str, set[str]] = defaultdict(set)
    for record in customer:
        person = truth[key(record)]
        emails[person] |= {email_key(v) for v in values(record, "email")}
        phones[person] |= {e164(record, v) for v in values(record, "phone")}
    assert sum(len(found) >= 2 for found in emails.values()) >= 10
    assert sum(len(found) >= 2 for found in phones.values()) >= 10


def test_nicknames_and_typos_appear(population: tuple[list[Record], Truth]) -> None:
    records, truth = population
    names = {str(r["name"]) for r in records if r["source"] in {"twitter", "calls", "microblog"}}
    tokens = {token for name in names for token in name.split()}
    assert len(tokens & {"Pepe", "Paco", "Bob", "J-P", "JP", "Manolo", "Nacho", "Mike"}) >= 4
    crm_names = {truth[key(r)]: fold(str(r["name"])) for r in records if r["source"] == "crm"}
    surname_typos = [
        r
        for r in records
        if r["source"] == "calls"
        and (formal := crm_names.get(truth[key(r)]))
        and fold(str(r["name"])).split()[0] == formal.split()[0]
        and fold(str(r["name"])) != formal
    ]
    assert surname_typos


def test_carrier_grade_nat_addresses_are_shared_by_many_people(
    population: tuple[list[Record], Truth],
) -> None:
    records, truth = population
    web = [r for r in records if r["source"] == "web"]
    sharing = people_by(web, truth, "ip", lambda _, value: value)
    assert sum(len(people) >= 20 for people in sharing.values()) >= 5


def test_employees_have_hr_records_a_hierarchy_and_activity(
    population: tuple[list[Record], Truth],
) -> None:
    records, truth = population
    hr = [r for r in records if r["source"] == "hr"]
    assert len(hr) == 300
    ids = {r["source_id"] for r in hr}
    managers = [attributes(r).get("manager") for r in hr]
    assert managers.count(None) == 1
    assert {m for m in managers if m} <= ids
    assert all(v.endswith("@telco.example") for r in hr for v in values(r, "email"))
    activity = [r for r in records if r["source"] in {"wiki", "blog", "microblog"}]
    assert activity
    assert all(r["kind"] == "employee" and r.get("topics") for r in activity)
    staff = {truth[key(r)] for r in hr}
    assert {truth[key(r)] for r in activity} <= staff


# --- large streams and files -------------------------------------------------------------------


def test_generate_large_streams_the_requested_number_of_records() -> None:
    records = list(generate_large(12_000, seed=5))
    assert len(records) == 12_000
    assert len({key(r) for r in records}) == 12_000
    assert len({r["source_id"] for r in records if r["source"] == "crm"}) > 12_000 / 6


def test_generate_large_is_lazy() -> None:
    start = time.perf_counter()
    assert len(list(islice(generate_large(10**9), 10))) == 10
    assert time.perf_counter() - start < 10  # a list of 10**9 records would never get here


def test_write_jsonl_round_trips(tmp_path: Path) -> None:
    records = generate(seed=2, customers=50, employees=5)
    path = tmp_path / "out" / "demo.jsonl"
    assert write_jsonl(records, path) == len(records)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == records
    assert "Francavilla" in lines[0]


def test_every_record_parses(population: tuple[list[Record], Truth]) -> None:
    records_module = pytest.importorskip("resolvers.records")
    for record in population[0]:
        records_module.parse_record(record)
