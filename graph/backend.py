"""The small interface every graph engine implements.

Everything above it (identity operations, locks, schema) is written once, in
the Cypher subset that FalkorDB and Neo4j both run. What differs per engine
(constraint syntax, full-text procedures) lives in a `Dialect`, owned by the
backend, never in `if engine == ...` branches elsewhere.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from graph.errors import GraphError

if TYPE_CHECKING:
    from graph.falkordb_bulk import BulkGraph

log = logging.getLogger("graph")

T = TypeVar("T")
_MAX_PENDING = 16  # deferred statements written together at most (their rows stay in memory)
_DEFERRAL_SETUP = threading.Lock()
Row = dict[str, Any]
Params = Mapping[str, Any]


@dataclass(frozen=True)
class Statement:
    """A named Cypher statement; the name is what logs and errors show."""

    name: str
    cypher: str
    params: Params


@dataclass(frozen=True)
class Reads(Generic[T]):
    """Read-only statements and what their rows make, for a caller that sends
    them along with something else (`GraphWriter.lock_reading`)."""

    statements: Sequence[Statement]
    result: Callable[[list[list[Row]]], T]


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
        pending = self._take_pending()
        if pending:
            name = "+".join(s.name for s in [*pending, statement])
            return self._timed(name, lambda: self._write_then_read(pending, statement))
        return self._timed(statement.name, lambda: self._read(statement))

    def read_many(self, *statements: Statement) -> list[list[Row]]:
        """Run independent read-only queries (in one round trip where the engine
        allows it) and return the rows of each."""
        pending = self._take_pending()
        name = "+".join(s.name for s in [*pending, *statements])
        return self._timed(name, lambda: self._read_many(pending, statements))

    def write(self, *statements: Statement) -> list[list[Row]]:
        """Run statements as one write transaction (one atomic query each on FalkorDB)."""
        sent = [*self._take_pending(), *statements]
        name = "+".join(s.name for s in sent)
        return self._timed(name, lambda: self._write(sent))[len(sent) - len(statements) :]

    def new_graph_in_bulk(self) -> BulkGraph | None:
        """A builder of the whole graph in bulk, when the engine has one and the
        graph holds no node yet. The graph is then made anew: its schema must be
        ensured again once it is built. None otherwise (write with statements)."""
        return None

    def more_in_bulk(self) -> BulkGraph | None:
        """A builder adding nodes and edges to the graph in bulk, when the engine
        has one (None otherwise). The new nodes' ids must be read back."""
        return None

    def start_compacting_log(self) -> None:  # noqa: B027 - optional: most engines keep no log
        """Start compacting the engine's log of writes, if it keeps one, after
        a write of most of the graph (nothing here)."""

    def discard_graph(self) -> None:
        """Delete a graph whose bulk load failed (only engines that build in bulk)."""
        raise NotImplementedError

    def write_later(self, *statements: Statement) -> None:
        """Write statements whose rows nobody reads: at once, or, inside
        `deferring_writes`, with this thread's next read or write (in the same
        round trip where the engine allows it)."""
        pending = self._pending()
        if pending is None:
            self.write(*statements)
            return
        pending.extend(statements)
        if len(pending) >= _MAX_PENDING:
            self.write()

    def flush(self) -> None:
        """Write what `write_later` left waiting in this thread."""
        if self._pending():
            self.write()

    @contextmanager
    def deferring_writes(self) -> Iterator[None]:
        """Let `write_later` statements of this thread wait for its next query
        (a one-record ingest has a dozen statements; each round trip costs more
        than most of them take). What is left is written on the way out."""
        local = self._deferral()
        if getattr(local, "pending", None) is not None:  # nested: the outer one writes
            yield
            return
        local.pending = []
        try:
            yield
        finally:
            pending, local.pending = local.pending, None
            if pending:
                self.write(*pending)

    def _deferral(self) -> threading.local:
        local: threading.local | None = self.__dict__.get("_deferral_local")
        if local is None:
            with _DEFERRAL_SETUP:
                local = self.__dict__.setdefault("_deferral_local", threading.local())
        assert local is not None
        return local

    def _pending(self) -> list[Statement] | None:
        pending: list[Statement] | None = getattr(self._deferral(), "pending", None)
        return pending

    def _take_pending(self) -> list[Statement]:
        pending = self._pending()
        if not pending:
            return []
        taken = list(pending)
        pending.clear()
        return taken

    def _write_then_read(self, pending: Sequence[Statement], statement: Statement) -> list[Row]:
        """Write `pending`, then read (engines that can send both at once do)."""
        return self._read_many(pending, [statement])[0]

    def _read_many(
        self, pending: Sequence[Statement], statements: Sequence[Statement]
    ) -> list[list[Row]]:
        """Write `pending`, then run the reads (engines that can send all at once do)."""
        if pending:
            self._write(pending)
        return [self._read(statement) for statement in statements]

    def take_lock(self, name: str, owner: str, lease_s: float) -> bool:
        """Take (or renew) the lease lock `name` for `owner`; False while another
        owner holds an unexpired lease. Kept as a node in the graph by default."""
        now = time.time() * 1000
        rows = self.write(
            Statement(
                "lock",
                # Touch first: on Neo4j the write lock is then held before the check.
                "MERGE (l:Lock {name: $name}) SET l.touched = $now WITH l "
                "WHERE l.until IS NULL OR l.until < $now OR l.owner = $owner "
                "SET l.owner = $owner, l.until = $until RETURN l.owner AS owner",
                {"name": name, "owner": owner, "now": now, "until": now + lease_s * 1000},
            )
        )[0]
        return bool(rows)

    def take_lock_and_read(
        self, name: str, owner: str, lease_s: float, statements: Sequence[Statement]
    ) -> list[list[Row]] | None:
        """`take_lock`, then the read-only `statements` if it was taken (in one
        round trip where the engine allows it); None while another owner holds
        the lock (their rows, if read, are dropped)."""
        if not self.take_lock(name, owner, lease_s):
            return None
        return self.read_many(*statements) if statements else []

    def release_lock(self, name: str, owner: str) -> None:
        """Write what this thread's deferred writes left, then release the lock
        if `owner` still holds it (even when that write fails)."""
        try:
            self.flush()
        finally:
            self.write(
                Statement(
                    "unlock",
                    "MATCH (l:Lock {name: $name}) WHERE l.owner = $owner SET l.until = 0",
                    {"name": name, "owner": owner},
                )
            )

    def prepared(self, value: Any) -> Any:
        """A parameter value in the form this engine sends it, so that a large one
        can be encoded ahead of time, off the critical path; as is by default."""
        return value

    @abstractmethod
    def _read(self, statement: Statement) -> list[Row]: ...

    @abstractmethod
    def _write(self, statements: Sequence[Statement]) -> list[list[Row]]: ...

    @abstractmethod
    def ensure_schema(self, spec: SchemaSpec, *, in_background: bool = False) -> None:
        """Create the constraints and indexes that are missing (safe at every
        start); `in_background`: return while the engine builds them (this
        backend's next query waits for them if it must; not other connections')."""

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
