"""The small interface every graph engine implements.

Everything above it (identity operations, locks, schema) is written once, in
the Cypher subset that FalkorDB and Neo4j both run. What differs per engine
(constraint syntax, full-text procedures) lives in a `Dialect`, owned by the
backend, never in `if engine == ...` branches elsewhere.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from graph.errors import GraphError

log = logging.getLogger("graph")

T = TypeVar("T")
Row = dict[str, Any]
Params = Mapping[str, Any]


@dataclass(frozen=True)
class Statement:
    """A named Cypher statement; the name is what logs and errors show."""

    name: str
    cypher: str
    params: Params


@dataclass(frozen=True)
class Dialect:
    """Per-engine Cypher that the shared subset cannot express."""

    engine: str
    # format(label=..., prop=..., query=...) -> a CALL clause yielding `node` and
    #   `score` for the query expression (a parameter such as $query, or q.text)
    fulltext_query: str


@dataclass(frozen=True)
class SchemaSpec:
    """What the graph needs: (label, property) pairs per kind of index."""

    unique: Sequence[tuple[str, str]]
    indexes: Sequence[tuple[str, str]]
    fulltext: Sequence[tuple[str, str]]


class GraphBackend(ABC):
    """Run read queries and write transactions on one graph."""

    dialect: Dialect

    def read(self, statement: Statement) -> list[Row]:
        """Run a read-only query and return its rows as dicts."""
        return self._timed(statement.name, lambda: self._read(statement))

    def write(self, *statements: Statement) -> list[list[Row]]:
        """Run statements as one write transaction (one atomic query each on FalkorDB)."""
        name = "+".join(s.name for s in statements)
        return self._timed(name, lambda: self._write(statements))

    def prepared(self, value: Any) -> Any:
        """A parameter value in the form this engine sends it, so that a large one
        can be encoded ahead of time, off the critical path; as is by default."""
        return value

    @abstractmethod
    def _read(self, statement: Statement) -> list[Row]: ...

    @abstractmethod
    def _write(self, statements: Sequence[Statement]) -> list[list[Row]]: ...

    @abstractmethod
    def ensure_schema(self, spec: SchemaSpec) -> None:
        """Create the constraints and indexes that are missing (safe at every start)."""

    @abstractmethod
    def health(self) -> bool:
        """True when the engine answers."""

    @abstractmethod
    def close(self) -> None:
        """Release connections (and stop an embedded server nobody else uses)."""

    def _timed(self, name: str, run: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            result = run()
        except GraphError:
            raise
        except Exception as error:
            log.warning("query %s failed after %.1f ms: %s", name, _ms(started), error)
            raise GraphError(name, str(error)) from error
        log.debug("query %s took %.1f ms", name, _ms(started))
        return result


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
