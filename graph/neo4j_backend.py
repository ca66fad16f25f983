"""Neo4j through the official `neo4j` driver (managed transactions, which the
driver retries on transient errors such as deadlocks and leader changes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graph.backend import Dialect, GraphBackend, Row, SchemaSpec, Statement

NEO4J_DIALECT = Dialect(
    engine="neo4j",
    fulltext_query=(
        "CALL db.index.fulltext.queryNodes('{label}_{prop}_text', {query}) YIELD node, score"
    ),
)


class Neo4jBackend(GraphBackend):
    """One Neo4j database."""

    dialect = NEO4J_DIALECT

    def __init__(self, *, url: str, user: str, password: str, database: str | None) -> None:
        import neo4j  # lazy: the driver is optional for embedded users

        self._driver: Any = neo4j.GraphDatabase.driver(url, auth=(user, password))
        self._database = database

    def _session(self) -> Any:
        return self._driver.session(database=self._database)

    def _read(self, statement: Statement) -> list[Row]:
        with self._session() as session:
            return list(session.execute_read(_run_one, statement))

    def _write(self, statements: Sequence[Statement]) -> list[list[Row]]:
        with self._session() as session:
            return list(session.execute_write(_run_all, statements))

    def ensure_schema(self, spec: SchemaSpec, *, in_background: bool = False) -> None:
        # `in_background` is for bulk loads, which Neo4j has none of here.
        statements = [
            *(f"CREATE CONSTRAINT {label}_{prop}_unique IF NOT EXISTS "
              f"FOR (n:{label}) REQUIRE n.{prop} IS UNIQUE" for label, prop in spec.unique),
            *(f"CREATE INDEX {label}_{prop} IF NOT EXISTS FOR (n:{label}) ON (n.{prop})"
              for label, prop in spec.indexes),
            *(f"CREATE FULLTEXT INDEX {label}_{prop}_text IF NOT EXISTS "
              f"FOR (n:{label}) ON EACH [n.{prop}]" for label, prop in spec.fulltext),
        ]  # fmt: skip
        with self._session() as session:
            for statement in statements:
                session.run(statement).consume()

    def health(self) -> bool:
        try:
            self._driver.verify_connectivity()
        except Exception:  # noqa: BLE001 - any failure means unhealthy
            return False
        return True

    def close(self) -> None:
        self._driver.close()


def _run_one(tx: Any, statement: Statement) -> list[Row]:
    return [record.data() for record in tx.run(statement.cypher, dict(statement.params))]


def _run_all(tx: Any, statements: Sequence[Statement]) -> list[list[Row]]:
    return [_run_one(tx, statement) for statement in statements]
