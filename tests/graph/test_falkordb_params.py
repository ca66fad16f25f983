"""Our parameter encoder writes what the falkordb client's own encoder writes,
and our result parser reads what its parser reads (both exist only to be
faster); the round trip through the engine is tested in
test_store.test_text_round_trips_exactly."""

from __future__ import annotations

import pytest
from falkordb.helpers import stringify_param_value

from graph.backend import Statement
from graph.falkordb_backend import FalkorDBBackend, _literal
from graph.store import GraphWriter


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


def test_rows_read_as_the_client_reads_them(falkor: GraphWriter) -> None:
    """Our compact-result parser gives every cell type what the client's gives."""
    backend = falkor.backend
    assert isinstance(backend, FalkorDBBackend)
    backend.write(Statement("seed", "CREATE (:Probe {key: 'p', n: 3})", {}))
    cypher = (
        "MATCH (p:Probe) RETURN 'a\"b' AS s, 7 AS i, -2.5 AS d, true AS t, false AS f, "
        "null AS z, [1, 'x', null, [2.0, false]] AS a, {k: 'v', n: [1]} AS m, p AS node, "
        "date('2026-11-23') AS day"
    )
    ours = backend.read(Statement("cells", cypher, {}))
    theirs = backend._graph.ro_query(cypher)
    names = [column[1] for column in theirs.header]
    assert ours == [dict(zip(names, row, strict=True)) for row in theirs.result_set]
    assert ours[0]["a"] == [1, "x", None, [2.0, False]]
    assert backend.read(Statement("none", "MATCH (p:Probe) WHERE p.n > 9 RETURN p.key", {})) == []
    assert backend.write(Statement("nothing", "MATCH (p:Probe) SET p.n = 4", {})) == [[]]


def test_a_prepared_parameter_reads_as_the_value_itself(falkor: GraphWriter) -> None:
    """Ingest encodes its rows ahead of time; the engine must see the same values."""
    rows = [{"key": "crm/1", "name": 'O"Brien \\ Ann', "ids": ["a", None]}, {"key": "crm/2"}]
    cypher = "UNWIND $rows AS row RETURN row.key AS key, row.name AS name, row.ids AS ids"
    plain = falkor.backend.read(Statement("plain", cypher, {"rows": rows}))
    prepared = falkor.backend.read(
        Statement("prepared", cypher, {"rows": falkor.backend.prepared(rows)})
    )
    assert prepared == plain
    assert prepared[0]["name"] == 'O"Brien \\ Ann'
