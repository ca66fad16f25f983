"""Small builders shared by the tests."""

from __future__ import annotations

from typing import Any

from directory.ingest import IngestReport, ingest_lines
from directory.settings import Settings
from graph.store import GraphWriter
from resolvers.records import iter_json_array_items


def rec(source: str, source_id: str, name: str | None = None, **identifiers: str) -> dict[str, Any]:
    """A record-format dict; keyword arguments are identifiers (type=value)."""
    record: dict[str, Any] = {"source": source, "source_id": source_id}
    if name:
        record["name"] = name
    record["identifiers"] = [{"type": t, "value": v} for t, v in identifiers.items()]
    return record


def load(writer: GraphWriter, records: list[dict[str, Any]], settings: Settings) -> IngestReport:
    """Ingest records through the one ingest code path."""
    parsed = iter_json_array_items(records, default_region=settings.default_region)
    return ingest_lines(writer, parsed, settings=settings, origin="test")


def profile_of(writer: GraphWriter, source: str, source_id: str) -> str:
    """The profile id a record is assigned to."""
    state = writer.record_state([f"{source}/{source_id}"])
    profile_id = state[f"{source}/{source_id}"].profile_id
    assert profile_id is not None
    return profile_id
