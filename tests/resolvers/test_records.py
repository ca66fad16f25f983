"""Record parsing: one record's fields, then the JSONL, JSON array and CSV streams."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, datetime
from typing import Any

import pytest

from resolvers.model import Identifier, Record
from resolvers.parallel import iter_jsonl_parallel
from resolvers.records import (
    ParsedLine,
    RecordError,
    iter_body,
    iter_csv,
    iter_json_array,
    iter_json_array_items,
    iter_jsonl,
    parse_record,
    record_to_json,
)

MARCH_1 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)

# The example of record-format.md.
EXAMPLE: dict[str, Any] = {
    "source": "crm",
    "source_id": "C-000123",
    "kind": "customer",
    "observed_at": "2026-03-01T10:00:00Z",
    "name": "Carlos Francavilla",
    "identifiers": [
        {"type": "email", "value": "Carlos.F@gmail.com"},
        {"type": "phone", "value": "+54 11 4555-1234"},
        {"type": "account", "value": "AR-0099812"},
        {"type": "twitter", "value": "@cfrancavilla"},
        {"type": "ip", "value": "181.2.3.4", "seen_at": "2026-03-01T10:00:00Z"},
    ],
    "attributes": {"city": "Buenos Aires", "country": "AR"},
    "text": "Why is my plan billing 'Acceso a Portal Movil' if internet is unlimited?",
    "topics": ["billing"],
}


def base(**fields: Any) -> dict[str, Any]:
    """A minimal valid record with ``fields`` added or replaced."""
    return {"source": "crm", "source_id": "C-1", **fields}


def outcomes(parsed: list[ParsedLine]) -> list[tuple[int, str | None, str | None]]:
    """(line, record key, error) per parsed line, for compact assertions."""
    return [(p.line, p.record.key if p.record else None, p.error) for p in parsed]


def test_parse_the_format_example() -> None:
    assert parse_record(EXAMPLE) == Record(
        source="crm",
        source_id="C-000123",
        kind="customer",
        observed_at=MARCH_1,
        name="Carlos Francavilla",
        identifiers=(
            Identifier("email", "carlosf@gmail.com"),
            Identifier("phone", "+541145551234"),
            Identifier("account", "AR0099812"),
            Identifier("twitter", "cfrancavilla"),
            Identifier("ip", "181.2.3.4", MARCH_1),
        ),
        attributes={"city": "Buenos Aires", "country": "AR"},
        text=EXAMPLE["text"],
        topics=("billing",),
    )


BAD_EMAIL_THIRD = [
    {"type": "email", "value": "a@example.com"},
    {"type": "phone", "value": "+34612345678"},
    {"type": "email", "value": "carlos.gmail.com"},
]
ALL_FIELDS = "source, source_id, kind, observed_at, name, identifiers, attributes, text, topics"
NUL = "contains a NUL character (\\u0000), which cannot be stored"
TIMESTAMP = "expected an ISO-8601 timestamp such as '2026-03-01T10:00:00Z'"
SCALAR = "expected a string, number, boolean or null"


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ([], "expected a JSON object, got an array"),
        ({}, "source: required"),
        ({"source_id": "1"}, "source: required"),
        (base(source=" "), "source: must not be empty"),
        (base(source=5), "source: expected a string, got a number"),
        ({"source": "crm", "source_id": None}, "source_id: required"),
        (base(source_id=True), "source_id: expected a string or a number, got a boolean"),
        (base(kind="vip"), "kind: 'vip' is not a kind; expected 'customer' or 'employee'"),
        (
            base(observed_at="yesterday"),
            f"observed_at: 'yesterday' is not a timestamp; {TIMESTAMP}",
        ),
        (base(observed_at=1772359200), f"observed_at: {TIMESTAMP}, got a number"),
        (base(name=5), "name: expected a string or null, got a number"),
        (base(text=["hi"]), "text: expected a string or null, got an array"),
        (base(identifiers={}), "identifiers: expected a JSON array, got an object"),
        (base(identifiers=["x"]), "identifiers[0]: expected a JSON object, got a string"),
        (base(identifiers=[{"type": "email"}]), "identifiers[0].value: required"),
        (base(identifiers=[{"value": "x"}]), "identifiers[0].type: required"),
        (base(identifiers=[{"type": "", "value": "x"}]), "identifiers[0].type: must not be empty"),
        (
            base(identifiers=[{"type": "email", "value": True}]),
            "identifiers[0].value: expected a string or a number, got a boolean",
        ),
        (
            base(identifiers=[{"type": "email", "value": "a@example.com", "vaule": "b"}]),
            "identifiers[0]: unknown field 'vaule' (did you mean 'value'?); "
            "expected type, value, seen_at",
        ),
        (
            base(identifiers=BAD_EMAIL_THIRD),
            "identifiers[2].value: 'carlos.gmail.com' is not an email address (no '@')",
        ),
        (
            base(identifiers=[{"type": "ip", "value": "1.2.3.4", "seen_at": "soon"}]),
            f"identifiers[0].seen_at: 'soon' is not a timestamp; {TIMESTAMP}",
        ),
        (
            base(identifiers=[{"type": "phone", "value": "612 34 56 78"}]),
            "identifiers[0].value: '612 34 56 78' is not a phone number (national number "
            "without a country; expected '+<country code>…' or a record with attributes.country)",
        ),
        (base(attributes=["x"]), "attributes: expected a JSON object, got an array"),
        (
            base(attributes={"address": {"street": "Florida 100"}}),
            f"attributes.address: an object is not allowed; {SCALAR}",
        ),
        (base(attributes={"tags": ["a"]}), f"attributes.tags: an array is not allowed; {SCALAR}"),
        (base(attributes={"score": float("nan")}), "attributes.score: nan is not a usable number"),
        (base(attributes={" ": "x"}), "attributes: empty attribute name"),
        (base(topics="billing"), "topics: expected a JSON array of strings, got a string"),
        (base(topics=["billing", 1]), "topics[1]: expected a string, got a number"),
        (base(name="Ana\x00"), f"name: {NUL}"),
        (base(text="hi\x00there"), f"text: {NUL}"),
        (base(attributes={"city": "Lyon\x00"}), f"attributes.city: {NUL}"),
        (base(topics=["ok", "\x00"]), f"topics[1]: {NUL}"),
        (base(name="Ana \ud800"), "name: holds a lone surrogate (\\ud800 to \\udfff): not text"),
        (base(nmae="Ana"), f"unknown field 'nmae' (did you mean 'name'?); expected {ALL_FIELDS}"),
        (
            base(foo=1, topic=["x"]),
            f"unknown fields 'foo', 'topic' (did you mean 'topics'?); expected {ALL_FIELDS}",
        ),
    ],
)
def test_parse_record_rejects(obj: object, message: str) -> None:
    with pytest.raises(RecordError) as caught:
        parse_record(obj)
    assert str(caught.value) == message


def test_record_error_carries_field_and_reason() -> None:
    with pytest.raises(RecordError) as caught:
        parse_record(base(identifiers=BAD_EMAIL_THIRD))
    assert caught.value.field == "identifiers[2].value"
    assert caught.value.reason == "'carlos.gmail.com' is not an email address (no '@')"
    assert str(pickle.loads(pickle.dumps(caught.value))) == str(caught.value)  # noqa: S301


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-03-01T10:00:00Z",
        "2026-03-01T10:00:00+00:00",
        "2026-03-01T07:00:00-03:00",
        "2026-03-01T10:00:00",  # naive: taken as UTC
        "2026-03-01 10:00:00",
        " 2026-03-01T10:00:00.000Z ",
    ],
)
def test_observed_at_is_aware_utc(stamp: str) -> None:
    observed_at = parse_record(base(observed_at=stamp)).observed_at
    assert observed_at == MARCH_1
    assert observed_at is not None
    assert observed_at.tzinfo is UTC


@pytest.mark.parametrize(
    ("source_id", "expected"),
    [("C-1", "C-1"), (" C-1 ", "C-1"), (123, "123"), (123.0, "123"), (0, "0")],
)
def test_source_id_text_or_number(source_id: object, expected: str) -> None:
    assert parse_record(base(source_id=source_id)).source_id == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, ("customer", None, None)),
        ({"kind": "Employee", "name": "  Ana  ", "text": " hola "}, ("employee", "Ana", "hola")),
        ({"kind": None, "name": " ", "text": ""}, ("customer", None, None)),
    ],
)
def test_kind_name_text(
    fields: dict[str, Any], expected: tuple[str, str | None, str | None]
) -> None:
    record = parse_record(base(**fields))
    assert (record.kind, record.name, record.text) == expected


def test_null_optional_fields_are_absent() -> None:
    nulls = dict.fromkeys(("kind", "observed_at", "name", "identifiers", "attributes"))
    assert parse_record(base(**nulls, text=None, topics=None)) == Record("crm", "C-1")


def test_attributes_are_flat_strings() -> None:
    attributes = {
        "city": " Madrid ",
        "country": "es",
        "vip": True,
        "age": 42,
        "score": 1.5,
        "postcode": 28013.0,
        "note": None,
        "blank": "  ",
    }
    assert parse_record(base(attributes=attributes)).attributes == {
        "city": "Madrid",
        "country": "ES",
        "vip": "true",
        "age": "42",
        "score": "1.5",
        "postcode": "28013",
    }


@pytest.mark.parametrize(
    ("country", "default_region", "expected"),
    [
        ("es", None, "+34612345678"),  # the record's country, any case
        (None, "ES", "+34612345678"),  # the caller's default region
        ("FR", "ES", "+33612345678"),  # the record's country wins
    ],
)
def test_phone_region(country: str | None, default_region: str | None, expected: str) -> None:
    national = "06 12 34 56 78" if country == "FR" else "612 34 56 78"
    obj = base(identifiers=[{"type": "mobile", "value": national}], attributes={"country": country})
    record = parse_record(obj, default_region=default_region)
    assert record.identifiers == (Identifier("phone", expected),)


def test_duplicate_identifiers_collapse_keeping_latest_seen_at() -> None:
    identifiers = [
        {"type": "email", "value": "Carlos.F@gmail.com", "seen_at": "2026-01-01T00:00:00Z"},
        {"type": "ip", "value": "181.2.3.4"},
        {"type": "mail", "value": "carlosf+news@googlemail.com", "seen_at": "2026-03-01T10:00:00Z"},
        {"type": "email", "value": "c.a.r.l.o.s.f@gmail.com"},
        {"type": "ip", "value": "::ffff:181.2.3.4"},
    ]
    assert parse_record(base(identifiers=identifiers)).identifiers == (
        Identifier("email", "carlosf@gmail.com", MARCH_1),
        Identifier("ip", "181.2.3.4"),
    )


def test_identifier_values_may_be_numbers() -> None:
    identifiers = [{"type": "account", "value": 99812.0}, {"type": "phone", "value": 612345678}]
    record = parse_record(base(identifiers=identifiers), default_region="ES")
    assert [i.value for i in record.identifiers] == ["99812", "+34612345678"]


def test_topics_trimmed_deduplicated_in_order() -> None:
    topics = [" billing ", "", "roaming", "billing", "Roaming"]
    assert parse_record(base(topics=topics)).topics == ("billing", "roaming", "Roaming")


@pytest.mark.parametrize(
    "obj",
    [
        EXAMPLE,
        base(),
        base(kind="employee", identifiers=[{"type": "employee_id", "value": " E-1 "}]),
        base(
            observed_at="2026-03-01T07:00:00.123456-03:00",
            identifiers=[
                {"type": "mastodon", "value": "https://mastodon.social/@Ana"},
                {"type": "loyalty", "value": "L-1", "seen_at": "2026-02-01T00:00:00"},
                {"type": "phone", "value": "612 34 56 78"},
            ],
            attributes={"country": "es", "vip": False},
            topics=["a", "a", "b"],
        ),
    ],
)
def test_record_to_json_round_trips(obj: dict[str, Any]) -> None:
    record = parse_record(obj)
    as_json = record_to_json(record)
    assert parse_record(json.loads(json.dumps(as_json))) == record


def test_record_to_json_shape() -> None:
    assert record_to_json(parse_record(EXAMPLE)) == {
        **EXAMPLE,
        "identifiers": [
            {"type": "email", "value": "carlosf@gmail.com"},
            {"type": "phone", "value": "+541145551234"},
            {"type": "account", "value": "AR0099812"},
            {"type": "twitter", "value": "cfrancavilla"},
            {"type": "ip", "value": "181.2.3.4", "seen_at": "2026-03-01T10:00:00Z"},
        ],
    }


# --- JSONL and JSON arrays ------------------------------------------------------

BAD_EMAIL_LINE = json.dumps(
    base(
        source_id="C-4",
        identifiers=[
            {"type": "phone", "value": "+34612345678"},
            {"type": "email", "value": "carlos.gmail.com"},
        ],
    )
)
JSONL = [
    json.dumps(base(source_id="C-1")),
    "",
    '{"source": "crm", "source_id": ',
    BAD_EMAIL_LINE,
    "   ",
    json.dumps(base(source_id="C-6")),
]


def test_jsonl_keeps_good_lines_and_numbers_errors() -> None:
    assert outcomes(list(iter_jsonl(JSONL))) == [
        (1, "crm/C-1", None),
        (3, None, "invalid JSON: Expecting value at column 32"),
        (4, None, "identifiers[1].value: 'carlos.gmail.com' is not an email address (no '@')"),
        (6, "crm/C-6", None),
    ]


def test_jsonl_first_line_offsets_numbers() -> None:
    assert [p.line for p in iter_jsonl(JSONL, first_line=101)] == [101, 103, 104, 106]


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_jsonl_parsed_in_a_worker_process_as_here(ending: str) -> None:
    """Lines go to the parsing processes joined by chunks: each keeps its number,
    whatever the line endings, the last line with or without one."""
    lines = [line + ending for line in JSONL] + [json.dumps(base(source_id="C-7"))]
    here = list(iter_jsonl(lines))
    there = list(iter_jsonl_parallel(lines, chunk_size=2, in_flight=2))
    assert (
        outcomes(there)
        == outcomes(here)
        == [*outcomes(list(iter_jsonl(JSONL))), (7, "crm/C-7", None)]
    )
    assert [p.record for p in there] == [p.record for p in here]


def test_parsed_records_pickle_as_they_were() -> None:
    """They cross from the parsing processes pickled by their fields."""
    seen = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    record = Record(
        "web", "s-1", "customer", seen, "Carlos F.", (Identifier("ip", "10.0.0.1", seen),),
        {"city": "Madrid"}, "hola", ("ipv6",),
    )  # fmt: skip
    line = ParsedLine(3, record, None)
    again = pickle.loads(pickle.dumps([line, ParsedLine(4, None, "bad")]))  # noqa: S301
    assert again == [line, ParsedLine(4, None, "bad")]
    assert again[0].record.identifiers[0].seen_at == seen


def test_jsonl_default_region_and_bom() -> None:
    line = "\ufeff" + json.dumps(base(identifiers=[{"type": "phone", "value": "612345678"}]))
    [parsed] = iter_jsonl([line], default_region="ES")
    assert parsed.record is not None
    assert parsed.record.identifiers == (Identifier("phone", "+34612345678"),)


NO_NAME = "Expecting property name enclosed in double quotes"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '[{"source": "a", "source_id": 1}, 3, {"source": "a", "source_id": 2}]',
            [(1, "a/1", None), (2, None, "expected a JSON object, got a number"), (3, "a/2", None)],
        ),
        (
            '[\n{"source": "a",\n',
            [(0, None, f"invalid JSON: {NO_NAME} at line 3 column 1")],
        ),
        ("[]", []),
    ],
)
def test_json_array(body: str, expected: list[tuple[int, str | None, str | None]]) -> None:
    assert outcomes(list(iter_json_array(body))) == expected
    assert outcomes(list(iter_body("  " + body))) == expected


def test_json_array_items_are_positions() -> None:
    items = [base(source_id="1"), base(source_id="")]
    assert outcomes(list(iter_json_array_items(items))) == [
        (1, "crm/1", None),
        (2, None, "source_id: must not be empty"),
    ]


def test_body_without_bracket_is_jsonl() -> None:
    # U+2028 is a line break to str.splitlines() but plain text inside a JSON string.
    text = "\r\n".join([json.dumps(base(text="a\u2028b"), ensure_ascii=False), "", "nope"])
    parsed = list(iter_body(text))
    assert outcomes(parsed) == [
        (1, "crm/C-1", None),
        (3, None, "invalid JSON: Expecting value at column 1"),
    ]
    assert parsed[0].record is not None
    assert parsed[0].record.text == "a\u2028b"


# --- CSV ------------------------------------------------------------------------

NOT_TWITTER = "facebook.com is not a Twitter host; expected https://x.com/name"
CSV = (
    (
        "source,source_id,Name,Email,mobile,x,Country,city,topics,observed_at,text\n"
        'crm,1,Ana Gómez,"Ana.G@gmail.com; ana.g+shop@gmail.com ;ana@example.org",'
        "612 34 56 78;+34 699 11 22 33,@AnaG,es,Madrid,billing; roaming;billing,"
        "2026-03-01T10:00:00Z,\n"
    )
    + """\
crm,2,Bad Mail,carlos.gmail.com,,,,,,,

crm,3,Multi Line,,,,,,,,"first line
second line"
crm,4,,,,,AR,,,,
crm,5,,,,https://facebook.com/x,,,,,
crm,6,,,,,,,,,,extra
"""
)


def test_csv_rows_become_records() -> None:
    parsed = list(iter_csv(CSV.splitlines(keepends=True)))
    assert outcomes(parsed) == [
        (2, "crm/1", None),
        (3, None, "Email: 'carlos.gmail.com' is not an email address (no '@')"),
        (5, "crm/3", None),
        (7, "crm/4", None),
        (8, None, f"x: 'https://facebook.com/x' is not a Twitter handle ({NOT_TWITTER})"),
        (9, None, "row has 12 cells but the header names 11 columns"),
    ]
    assert parsed[0].record == Record(
        source="crm",
        source_id="1",
        observed_at=MARCH_1,
        name="Ana Gómez",
        identifiers=(
            Identifier("email", "anag@gmail.com"),
            Identifier("email", "ana@example.org"),
            Identifier("phone", "+34612345678"),
            Identifier("phone", "+34699112233"),
            Identifier("twitter", "anag"),
        ),
        attributes={"country": "ES", "city": "Madrid"},
        topics=("billing", "roaming"),
    )
    assert parsed[2].record is not None
    assert parsed[2].record.text == "first line\nsecond line"


def test_csv_blank_cells_and_missing_fields() -> None:
    rows = ["source,source_id,Topics,Score\n", "crm,1,;;,1\n", "crm,,x,\n", "crm,3,,\n"]
    parsed = list(iter_csv(rows))
    assert outcomes(parsed) == [
        (2, "crm/1", None),
        (3, None, "source_id: required"),
        (4, "crm/3", None),
    ]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("source,source_id,city,City", "header: column 'city' appears twice"),
        ("source,,city", "header: column 2 has no name"),
        (
            "source,source_id,identifiers",
            "header: column 'identifiers' is not allowed; use one column per identifier "
            "type, e.g. 'email'",
        ),
    ],
)
def test_csv_header_errors(header: str, message: str) -> None:
    assert outcomes(list(iter_csv([header, "crm,1,x"]))) == [(1, None, message)]


def test_csv_repeated_identifier_columns_add_up() -> None:
    rows = ["\ufeffsource,source_id,email,email,phone\n", "crm,1,a@example.org,b@example.org,\n"]
    [parsed] = iter_csv(rows)
    assert parsed.record is not None
    assert [i.value for i in parsed.record.identifiers] == ["a@example.org", "b@example.org"]


def test_csv_empty_input() -> None:
    assert list(iter_csv([])) == []
