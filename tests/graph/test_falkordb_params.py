"""Our parameter encoder writes what the falkordb client's own encoder writes
(it exists only to be faster); the round trip through the engine is tested in
test_store.test_text_round_trips_exactly."""

from __future__ import annotations

import pytest
from falkordb.helpers import stringify_param_value

from graph.falkordb_backend import _literal


@pytest.mark.parametrize(
    "value",
    [
        'a"b\\c\nd',
        "",
        None,
        3,
        2.5,
        [1, "x", None, [2]],
        {"key": "crm/1", "name": None, "topics": ["a", 'b"'], "n": 4, "m": {"x": "y"}},
    ],
)
def test_same_literal_as_the_client(value: object) -> None:
    assert _literal(value) == stringify_param_value(value)


def test_booleans_are_cypher_booleans() -> None:
    assert (_literal(True), _literal(False)) == ("true", "false")
