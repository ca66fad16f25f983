"""The parsed, normalised form of a source record (see record-format.md).

Everything downstream (graph writes, resolution, the API) works on these
types, never on raw JSON, so normalisation happens exactly once, at parsing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from graph.model import pickled_by_fields, quick_init


class Strength(StrEnum):
    """How much an identifier says about who carries it."""

    STRONG = "strong"  # links records on its own (email, phone, account, handles...)
    MEDIUM = "medium"  # device ids and unknown types: links on its own, exact match only
    WEAK = "weak"  # IPs: never links on its own


@pickled_by_fields
@quick_init
@dataclass(frozen=True, slots=True)
class Identifier:
    """One normalised identifier value, e.g. ``email`` / ``carlos.f@gmail.com``."""

    type: str
    value: str
    seen_at: datetime | None = None

    @property
    def key(self) -> str:
        """The graph key shared by every record that carries this value."""
        return f"{self.type}:{self.value}"


@pickled_by_fields
@quick_init
@dataclass(frozen=True, slots=True)
class Record:
    """One source record, validated and normalised."""

    source: str
    source_id: str
    kind: str = "customer"
    observed_at: datetime | None = None
    name: str | None = None
    identifiers: tuple[Identifier, ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)
    text: str | None = None
    topics: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The record's identity: ingesting the same key again updates it."""
        return f"{self.source}/{self.source_id}"


def utc_text(moment: datetime) -> str:
    """The ISO-8601 UTC text every timestamp is stored as ("…Z"); sorts as time does."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def utc_text_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else utc_text(moment)


def utc_now() -> str:
    """Now, as `utc_text` writes it, to the millisecond."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
