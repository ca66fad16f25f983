"""schema.graphql is exported from the code; it must not go stale."""

from __future__ import annotations

from pathlib import Path

from directory.graphql_api import schema

SDL = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_committed_schema_matches_the_code() -> None:
    assert SDL.read_text() == schema.as_str() + "\n", (
        "schema.graphql is stale: run `directory export schema -o schema.graphql`"
    )
