"""Turn raw input (a JSON object, JSONL, a JSON array, CSV) into validated Records.

One code path: every input format is first reshaped into the record-format
JSON object and then validated by ``parse_record``, so each rule is written
once. A record is rejected with the first problem found, naming the field path
(and, for streams, the line); one bad record never stops the rest of a batch.
"""

from __future__ import annotations

import csv
import difflib
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from graph.model import pickled_by_fields, quick_init
from resolvers.identifiers import (
    KNOWN_TYPES,
    IdentifierError,
    canonical_type,
    normalise,
)
from resolvers.model import Identifier, Record, utc_text


class RecordError(ValueError):
    """A record that does not follow record-format.md.

    ``field`` is the path of the offending value (``identifiers[2].value``), or
    None when the problem is the record as a whole.
    """

    def __init__(self, field: str | None, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}" if field else reason)

    def __reduce__(self) -> tuple[type[RecordError], tuple[str | None, str]]:
        # Rebuild from the parts, not the message, so errors cross process pools.
        return (type(self), (self.field, self.reason))


# Ordered and hashed: membership is checked per record, the order is shown in errors.
_FIELDS: Mapping[str, None] = dict.fromkeys(
    (
        "source",
        "source_id",
        "kind",
        "observed_at",
        "name",
        "identifiers",
        "attributes",
        "text",
        "topics",
    )
)
_IDENTIFIER_FIELDS: Mapping[str, None] = dict.fromkeys(("type", "value", "seen_at"))
_KINDS = frozenset({"customer", "employee"})
_TIMESTAMP_EXAMPLE = "expected an ISO-8601 timestamp such as '2026-03-01T10:00:00Z'"
_JSON_TYPES: Mapping[type, str] = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "null",
}


# --- field validators ------------------------------------------------------------


def _json_type(value: object) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _as_object(value: object, field: str | None) -> dict[str, object]:
    if not isinstance(value, dict):
        raise RecordError(field, f"expected a JSON object, got {_json_type(value)}")
    return value


def _reject_unknown(
    data: dict[str, object], allowed: Mapping[str, None], field: str | None
) -> None:
    if data.keys() <= allowed.keys():
        return
    unknown = [str(key) for key in data if key not in allowed]
    hints = [
        f"{key!r} (did you mean {close[0]!r}?)"
        if (close := difflib.get_close_matches(key, allowed, n=1))
        else repr(key)
        for key in unknown
    ]
    noun = "field" if len(unknown) == 1 else "fields"
    raise RecordError(field, f"unknown {noun} {', '.join(hints)}; expected {', '.join(allowed)}")


def _number_text(value: int | float, field: str) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RecordError(field, f"{value} is not a usable number")
        if value.is_integer():  # 1425.0 from a spreadsheet means 1425
            return str(int(value))
    return str(value)


def _scalar_text(value: object, field: str) -> str:
    """A string or number as stripped text (identifier values, source_id)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number_text(value, field)
    raise RecordError(field, f"expected a string or a number, got {_json_type(value)}")


def _required(data: dict[str, object], name: str, *, numbers: bool, field: str) -> str:
    value = data.get(name)
    if value is None:
        raise RecordError(field, "required")
    if not numbers and not isinstance(value, str):
        raise RecordError(field, f"expected a string, got {_json_type(value)}")
    text = _scalar_text(value, field)
    if not text:
        raise RecordError(field, "must not be empty")
    return text


def _optional_text(value: object, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(field, f"expected a string or null, got {_json_type(value)}")
    return value.strip() or None


def _kind(value: object) -> str:
    text = _optional_text(value, "kind")
    if text is None:
        return "customer"
    if (kind := text.lower()) not in _KINDS:
        raise RecordError("kind", f"{text!r} is not a kind; expected 'customer' or 'employee'")
    return kind


def _as_utc(moment: datetime) -> datetime:
    # A timestamp without an offset is taken as UTC: sources that omit it log in UTC.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _timestamp(value: object, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(field, f"{_TIMESTAMP_EXAMPLE}, got {_json_type(value)}")
    try:
        return _as_utc(datetime.fromisoformat(value.strip()))
    except ValueError:
        raise RecordError(field, f"{value!r} is not a timestamp; {_TIMESTAMP_EXAMPLE}") from None


def _attribute_value(value: object, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"  # JSON spelling, not Python's
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float):
        return _number_text(value, field)
    raise RecordError(
        field, f"{_json_type(value)} is not allowed; expected a string, number, boolean or null"
    )


def _attributes(value: object) -> dict[str, str]:
    if value is None:
        return {}
    attributes: dict[str, str] = {}
    for raw_key, raw_value in _as_object(value, "attributes").items():
        key = str(raw_key).strip()
        if not key:
            raise RecordError("attributes", "empty attribute name")
        text = _attribute_value(raw_value, f"attributes.{key}")
        if text is not None:
            attributes[key] = text.upper() if key == "country" else text
    return attributes


def _identifier(value: object, field: str, region: str | None) -> Identifier:
    data = _as_object(value, field)
    _reject_unknown(data, _IDENTIFIER_FIELDS, field)
    type_ = canonical_type(_required(data, "type", numbers=False, field=f"{field}.type"))
    raw = _required(data, "value", numbers=True, field=f"{field}.value")
    seen_at = _timestamp(data.get("seen_at"), f"{field}.seen_at")
    try:
        return Identifier(type_, normalise(type_, raw, region=region), seen_at)
    except IdentifierError as exc:
        raise RecordError(f"{field}.value", str(exc)) from None


def _later(new: Identifier, old: Identifier) -> bool:
    if new.seen_at is None:
        return False
    return old.seen_at is None or new.seen_at > old.seen_at


def _identifiers(value: object, region: str | None) -> tuple[Identifier, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RecordError("identifiers", f"expected a JSON array, got {_json_type(value)}")
    # Spellings that normalise alike are one identifier; keep when it was last seen.
    unique: dict[tuple[str, str], Identifier] = {}
    for index, item in enumerate(value):
        identifier = _identifier(item, f"identifiers[{index}]", region)
        key = (identifier.type, identifier.value)
        old = unique.get(key)
        if old is None or _later(identifier, old):
            unique[key] = identifier
    return tuple(unique.values())


def _topics(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RecordError("topics", f"expected a JSON array of strings, got {_json_type(value)}")
    topics: dict[str, None] = {}  # an ordered set
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise RecordError(f"topics[{index}]", f"expected a string, got {_json_type(item)}")
        if topic := item.strip():
            topics[topic] = None
    return tuple(topics)


# --- records ---------------------------------------------------------------------


def parse_record(obj: object, *, default_region: str | None = None) -> Record:
    """Validate and normalise one decoded record-format JSON object.

    ``default_region`` reads national phone numbers when the record has no
    ``attributes.country``. Raises RecordError for the first problem found.
    """
    data = _as_object(obj, None)
    _reject_unknown(data, _FIELDS, None)
    source = _required(data, "source", numbers=False, field="source")
    source_id = _required(data, "source_id", numbers=True, field="source_id")
    kind = _kind(data.get("kind"))
    observed_at = _timestamp(data.get("observed_at"), "observed_at")
    name = _optional_text(data.get("name"), "name")
    attributes = _attributes(data.get("attributes"))
    region = attributes.get("country", default_region)
    return _storable(
        Record(
            source=source,
            source_id=source_id,
            kind=kind,
            observed_at=observed_at,
            name=name,
            identifiers=_identifiers(data.get("identifiers"), region),
            attributes=attributes,
            text=_optional_text(data.get("text"), "text"),
            topics=_topics(data.get("topics")),
        )
    )


def _storable(record: Record) -> Record:
    """The record, unless a text holds a NUL character (JSON's \\u0000: it
    ends a string in the graph's engines) or half of a UTF-16 pair (JSON's
    \\ud800, alone: it cannot be encoded at all)."""
    if _plain_text(record):  # nearly every record: no field to name
        return record
    texts = [("source", record.source), ("source_id", record.source_id),
             ("name", record.name), ("text", record.text)]  # fmt: skip
    texts += [(f"attributes.{k}", f"{k}{v}") for k, v in record.attributes.items()]
    texts += [(f"topics[{i}]", topic) for i, topic in enumerate(record.topics)]
    texts += [(f"identifiers[{i}].value", i_.value) for i, i_ in enumerate(record.identifiers)]
    for field, text in texts:
        if text and "\x00" in text:
            raise RecordError(field, "contains a NUL character (\\u0000), which cannot be stored")
        if text and not text.isascii():
            try:
                text.encode()
            except UnicodeEncodeError:
                raise RecordError(
                    field, "holds a lone surrogate (\\ud800 to \\udfff): not text"
                ) from None
    return record


def _plain_text(record: Record) -> bool:
    """Whether all of the record's texts, joined, are free of both (a
    surrogate stays alone when joined: each one fails to encode)."""
    whole = "".join([
        record.source, record.source_id, record.name or "", record.text or "",
        *record.attributes, *record.attributes.values(), *record.topics,
        *(identifier.value for identifier in record.identifiers),
    ])  # fmt: skip
    if "\x00" in whole:
        return False
    if whole.isascii():
        return True
    try:
        whole.encode()
    except UnicodeEncodeError:
        return False
    return True


def record_to_json(record: Record) -> dict[str, object]:
    """The record-format JSON object of ``record``; parse_record reads it back equal."""
    out: dict[str, object] = {
        "source": record.source,
        "source_id": record.source_id,
        "kind": record.kind,
    }
    if record.observed_at is not None:
        out["observed_at"] = utc_text(record.observed_at)
    if record.name is not None:
        out["name"] = record.name
    if record.identifiers:
        out["identifiers"] = [_identifier_json(i) for i in record.identifiers]
    if record.attributes:
        out["attributes"] = dict(record.attributes)
    if record.text is not None:
        out["text"] = record.text
    if record.topics:
        out["topics"] = list(record.topics)
    return out


def _identifier_json(identifier: Identifier) -> dict[str, str]:
    out = {"type": identifier.type, "value": identifier.value}
    if identifier.seen_at is not None:
        out["seen_at"] = utc_text(identifier.seen_at)
    return out


# --- streams ---------------------------------------------------------------------


@pickled_by_fields
@quick_init
@dataclass(frozen=True, slots=True)
class ParsedLine:
    """The outcome for one input record: a Record, or the error to report for it.

    ``line`` is the 1-based physical line (JSONL, CSV) or array position (JSON
    array); 0 means the body as a whole could not be read.
    """

    line: int
    record: Record | None
    error: str | None
    # What the consumer asked the parsing processes to make of the record
    # (`iter_jsonl_parallel`'s `prepare`), if it did.
    prepared: Any = None


def _parsed(obj: object, line: int, default_region: str | None) -> ParsedLine:
    try:
        return ParsedLine(line, parse_record(obj, default_region=default_region), None)
    except RecordError as exc:
        return ParsedLine(line, None, str(exc))


def iter_jsonl(
    lines: Iterable[str], *, default_region: str | None = None, first_line: int = 1
) -> Iterator[ParsedLine]:
    """Parse JSONL, one record per non-blank line; bad lines become errors."""
    for number, raw in enumerate(lines, start=first_line):
        # Editors on Windows add a BOM; the line break goes too (an error at
        # the end of the line would be reported at column 1 of the next).
        text = raw.removeprefix("\ufeff").rstrip("\r\n")
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield ParsedLine(number, None, f"invalid JSON: {exc.msg} at column {exc.colno}")
            continue
        yield _parsed(obj, number, default_region)


def iter_json_array_items(
    items: Iterable[object], *, default_region: str | None = None
) -> Iterator[ParsedLine]:
    """Parse already-decoded records (a JSON array's items); ``line`` is the 1-based position."""
    for position, obj in enumerate(items, start=1):
        yield _parsed(obj, position, default_region)


def iter_json_array(text: str, *, default_region: str | None = None) -> Iterator[ParsedLine]:
    """Parse a JSON array of records; ``line`` is the 1-based array position."""
    try:
        data = json.loads(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as exc:
        error = f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        yield ParsedLine(0, None, error)
        return
    if not isinstance(data, list):
        yield ParsedLine(0, None, f"expected a JSON array of records, got {_json_type(data)}")
        return
    yield from iter_json_array_items(data, default_region=default_region)


def iter_body(text: str, *, default_region: str | None = None) -> Iterator[ParsedLine]:
    """Parse a request or file body: a JSON array if it starts with '[', else JSONL."""
    body = text.removeprefix("\ufeff")
    if body.lstrip().startswith("["):
        return iter_json_array(body, default_region=default_region)
    # split('\n'), not splitlines(): JSON strings may hold U+2028 and other breaks.
    return iter_jsonl(body.split("\n"), default_region=default_region)


# --- CSV -------------------------------------------------------------------------

_Role = Literal["field", "identifier", "topics", "attribute"]
_CSV_FIELDS = frozenset({"source", "source_id", "kind", "observed_at", "name", "text"})
_CSV_NOT_COLUMNS: Mapping[str, str] = {
    "identifiers": "use one column per identifier type, e.g. 'email'",
    "attributes": "use one column per attribute, e.g. 'city'",
}
_IDENTIFIER_PATH = re.compile(r"identifiers\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class _Column:
    role: _Role
    name: str  # field or attribute name, or the identifier type
    header: str  # as written, for error messages


def _column(header: str, position: int) -> _Column:
    written = header.strip()
    name = written.lower()
    if not name:
        raise RecordError("header", f"column {position} has no name")
    if name in _CSV_NOT_COLUMNS:
        raise RecordError("header", f"column {name!r} is not allowed; {_CSV_NOT_COLUMNS[name]}")
    if name in _CSV_FIELDS:
        return _Column("field", name, written)
    if name == "topics":
        return _Column("topics", name, written)
    if (type_ := canonical_type(name)) in KNOWN_TYPES:
        return _Column("identifier", type_, written)
    return _Column("attribute", name, written)


def _columns(header: list[str]) -> tuple[_Column, ...]:
    if header:
        header[0] = header[0].removeprefix("\ufeff")  # Excel writes a BOM
    columns = tuple(_column(cell, index) for index, cell in enumerate(header, start=1))
    seen: set[str] = set()
    for column in columns:
        # Several columns of one identifier type add up; any other repeat is ambiguous.
        if column.role != "identifier" and column.name in seen:
            raise RecordError("header", f"column {column.name!r} appears twice")
        seen.add(column.name)
    return columns


class _CsvRow:
    """One CSV row reshaped as a record-format object, remembering which column fed what."""

    def __init__(self, columns: tuple[_Column, ...], cells: list[str]) -> None:
        extra = [cell for cell in cells[len(columns) :] if cell.strip()]
        if extra:
            raise RecordError(
                None, f"row has {len(cells)} cells but the header names {len(columns)} columns"
            )
        self.obj: dict[str, object] = {}
        self.identifier_headers: list[str] = []  # the column each identifier came from
        identifiers: list[dict[str, str]] = []
        attributes: dict[str, str] = {}
        for column, raw in zip(columns, cells, strict=False):
            if not (cell := raw.strip()):
                continue
            if column.role == "field":
                self.obj[column.name] = cell
            elif column.role == "topics":
                self.obj["topics"] = cell.split(";")
            elif column.role == "attribute":
                attributes[column.name] = cell
            else:
                for value in filter(None, (part.strip() for part in cell.split(";"))):
                    identifiers.append({"type": column.name, "value": value})
                    self.identifier_headers.append(column.header)
        if identifiers:
            self.obj["identifiers"] = identifiers
        if attributes:
            self.obj["attributes"] = attributes

    def column_error(self, error: RecordError) -> RecordError:
        """``error`` naming the CSV column instead of ``identifiers[i]``.

        Only identifiers can fail once the header is valid: every other cell is text.
        """
        found = _IDENTIFIER_PATH.match(error.field or "")
        if found is None:
            return error
        return RecordError(self.identifier_headers[int(found[1])], error.reason)


def _csv_line(
    columns: tuple[_Column, ...], cells: list[str], line: int, default_region: str | None
) -> ParsedLine:
    try:
        row = _CsvRow(columns, cells)
    except RecordError as exc:
        return ParsedLine(line, None, str(exc))
    try:
        return ParsedLine(line, parse_record(row.obj, default_region=default_region), None)
    except RecordError as exc:
        return ParsedLine(line, None, str(row.column_error(exc)))


def iter_csv(lines: Iterable[str], *, default_region: str | None = None) -> Iterator[ParsedLine]:
    """Parse CSV with a header row (record-format.md, "CSV"); ``line`` is the physical line.

    Pass lines with their endings (a file opened with ``newline=""``, or
    ``text.splitlines(keepends=True)``) so quoted cells spanning lines keep their breaks.
    """
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
        if header is None:
            return
        columns = _columns(header)
    except csv.Error as exc:
        yield ParsedLine(1, None, f"invalid CSV: {exc}")
        return
    except RecordError as exc:
        yield ParsedLine(1, None, str(exc))
        return
    while True:
        line = reader.line_num + 1  # a quoted cell may span lines: report where the row starts
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            yield ParsedLine(line, None, f"invalid CSV: {exc}")
            return
        if cells is None:
            return
        if any(cell.strip() for cell in cells):
            yield _csv_line(columns, cells, line, default_region)
