"""FalkorDB, embedded or external, through the official `falkordb` client."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from graph.backend import Dialect, GraphBackend, Row, SchemaSpec, Statement
from graph.errors import GraphError
from graph.falkordb_bulk import BulkGraph
from graph.falkordb_wire import Command, Wire

log = logging.getLogger("graph")

# Compact result cell types (FalkorDB's ResultSetScalarTypes).
_NULL, _STRING, _INTEGER, _BOOLEAN, _DOUBLE, _ARRAY = 1, 2, 3, 4, 5, 6
_AS_IS = frozenset((_STRING, _INTEGER))  # the client hands these over decoded

_READ = "GRAPH.RO_QUERY"
# Writes since the last snapshot of the log that replay at once at the next
# start: the log is not rewritten for them when the last client leaves.
_SMALL_LOG_BYTES = 1 << 20

FALKORDB_DIALECT = Dialect(
    engine="falkordb",
    fulltext_query="CALL db.idx.fulltext.queryNodes('{label}', {query}) YIELD node, score",
)


class FalkorDBBackend(GraphBackend):
    """One named graph on a FalkorDB server (a Redis with the graph module)."""

    dialect = FALKORDB_DIALECT

    def __init__(
        self,
        *,
        graph_name: str,
        host: str | None = None,
        port: int | None = None,
        unix_socket: str | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        from falkordb import FalkorDB  # lazy: the driver is optional for Neo4j users

        self._client_name = f"directory-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        connection = {"max_connections": 64, "client_name": self._client_name}
        if unix_socket:
            self._db: Any = FalkorDB(unix_socket_path=unix_socket, **connection)
        else:
            self._db = FalkorDB(host=host or "localhost", port=port or 6379, **connection)
        self._graph_name = graph_name
        self._address = (host, port, unix_socket)
        self._graph: Any = self._db.select_graph(graph_name)
        self._wire = Wire(self._db.connection.connection_pool)
        self._on_close = on_close
        self._building = False  # indexes left to build in the background (`ensure_schema`)
        self._building_lock = threading.Lock()

    def reconnect(self) -> FalkorDBBackend:
        """A second, independent connection to the same graph."""
        host, port, unix_socket = self._address
        return FalkorDBBackend(
            graph_name=self._graph_name, host=host, port=port, unix_socket=unix_socket
        )

    def explain(self, statement: Statement) -> list[str]:
        """FalkorDB's plan for a statement, one operation a line."""
        query = _with_params(statement)
        self._until_built()
        plan = self._db.connection.execute_command("GRAPH.EXPLAIN", self._graph_name, query)
        return [str(line) for line in plan]

    def take_lock(self, name: str, owner: str, lease_s: float) -> bool:
        # A key beside the graph: one Redis command instead of a graph write.
        key, lease_ms = self._lock_key(name), int(lease_s * 1000)

        def take() -> bool:  # no graph query: no wait for its indexes
            (taken,) = self._wire.exchange([("SET", key, owner, "NX", "PX", lease_ms)])
            if taken is None:  # held: renewed when this owner holds it
                (taken,) = self._wire.exchange([("EVAL", _RENEW_LOCK, 1, key, owner, lease_ms)])
            return bool(_raised(taken))

        return self._timed("lock", take)

    def take_lock_and_read(
        self, name: str, owner: str, lease_s: float, statements: Sequence[Statement]
    ) -> list[list[Row]] | None:
        take = ("SET", self._lock_key(name), owner, "NX", "PX", int(lease_s * 1000))

        def taken_and_read() -> list[list[Row]] | None:
            taken, *replies = self._exchange([take, *self._commands(statements, _READ)])
            return None if _raised(taken) is None else [self._rows(r) for r in replies]

        return self._timed("+".join(["lock", *(s.name for s in statements)]), taken_and_read)

    def release_lock(self, name: str, owner: str) -> None:
        # The deferred writes and the release go in one round trip: the release
        # runs even if a write fails, and the first error is raised after it.
        pending = self._take_pending()
        release = ("EVAL", _RELEASE_LOCK, 1, self._lock_key(name), owner)

        def written_and_released() -> None:
            if pending:  # graph writes: once the indexes are built
                try:
                    self._until_built()
                except BaseException:
                    self._wire.exchange([release])  # the lock goes back all the same
                    raise
            *written, released = self._wire.exchange([*self._commands(pending), release])
            for response in written:
                self._rows(response)  # raises a write's error
            _raised(released)

        self._timed("+".join([*(s.name for s in pending), "unlock"]), written_and_released)

    def _exchange(self, commands: Sequence[Command]) -> list[Any]:
        self._until_built()
        return self._wire.exchange(commands)

    def _lock_key(self, name: str) -> str:
        return f"{self._graph_name}:lock:{name}"

    def prepared(self, value: Any) -> Any:
        return _Encoded(_literal(value))

    def _read(self, statement: Statement) -> list[Row]:
        return self._pipelined([], [statement])[0]

    def _write(self, statements: Sequence[Statement]) -> list[list[Row]]:
        # FalkorDB runs each query atomically and serialises writers; there is
        # no multi-query transaction, so callers keep each statement self-contained.
        return self._pipelined(statements, [])

    def _read_many(
        self, pending: Sequence[Statement], statements: Sequence[Statement]
    ) -> list[list[Row]]:
        return self._pipelined(pending, statements)[len(pending) :]

    def _pipelined(
        self, writes: Sequence[Statement], reads: Sequence[Statement]
    ) -> list[list[Row]]:
        """Queries sent in one round trip, their rows parsed here (the compact
        format: the client's generic parser took a quarter of a lookup's graph
        time). The server runs them in order; if one fails, the others have
        still run, and the first error is raised."""
        replies = self._exchange(self._commands(writes) + self._commands(reads, _READ))
        return [self._rows(reply) for reply in replies]

    def _commands(
        self, statements: Sequence[Statement], command: str = "GRAPH.QUERY"
    ) -> list[Command]:
        return [(command, self._graph_name, _with_params(s), "--compact") for s in statements]

    def _rows(self, response: Any) -> list[Row]:
        if isinstance(response, Exception):  # a pipelined query's error
            raise response
        for part in (response[0], response[-1]):
            if isinstance(part, Exception):  # the server's error, as the client raises it
                raise part
        if len(response) < 3:  # statistics only: the query returns nothing
            return []
        names = [column[1] for column in response[0]]
        return [
            dict(zip(names, [self._value(cell) for cell in row], strict=True))
            for row in response[1]
        ]

    def _value(self, cell: list[Any]) -> Any:
        """A compact result cell ([type, value]); what queries here return is
        parsed inline, anything else (nodes, maps, dates) by the client."""
        kind, value = cell
        if kind in _AS_IS:
            return value
        if kind == _NULL:
            return None
        if kind == _ARRAY:
            return [self._value(item) for item in value]
        if kind == _DOUBLE:
            return float(value)
        if kind == _BOOLEAN:
            return value == "true"
        from falkordb.query_result import parse_scalar

        return parse_scalar(cell, self._graph)

    def ensure_schema(self, spec: SchemaSpec, *, in_background: bool = False) -> None:
        # Only what is missing is created: a refused "already exists" command
        # would still be written to the append-only file and fail again at replay.
        ranges, texts, uniques = self._existing_schema()
        for label, prop in [*spec.unique, *spec.indexes]:
            if (label, prop) not in ranges:
                self._graph.query(f"CREATE INDEX FOR (n:{label}) ON (n.{prop})")
        for label, prop in spec.fulltext:
            if (label, prop) not in texts:
                self._graph.query(f"CALL db.idx.fulltext.createNodeIndex('{label}', '{prop}')")
        for label, prop in spec.unique:
            if (label, prop) not in uniques:
                self._db.connection.execute_command(
                    "GRAPH.CONSTRAINT", "CREATE", self._graph_name, "UNIQUE", "NODE", label,
                    "PROPERTIES", "1", prop,
                )  # fmt: skip
        self._building = True
        if not in_background:
            self._until_built()

    def _until_built(self) -> None:
        """Wait for the indexes `ensure_schema` left building, before any query:
        FalkorDB builds them in the background on a graph with nodes (11 s a
        million records), and a query planned on an index under construction
        misses the nodes it has not reached yet."""
        if not self._building:
            return
        with self._building_lock:
            if self._building:
                started = time.perf_counter()
                try:
                    self._wait_operational()
                finally:  # built, or failed: said once, by the query that waited
                    self._building = False
                waited_ms = (time.perf_counter() - started) * 1000
                log.debug("waited %.1f ms for the indexes to be built", waited_ms)

    def _wait_operational(self, timeout_s: float = 1800.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            statuses = [
                row[0]
                for procedure in ("db.indexes", "db.constraints")
                for row in self._graph.query(f"CALL {procedure}() YIELD status RETURN status")
                .result_set
            ]  # fmt: skip
            if all(status == "OPERATIONAL" for status in statuses):
                return
            if "FAILED" in statuses:
                raise GraphError("schema", f"an index or constraint failed: {statuses}")
            time.sleep(0.05)
        raise GraphError("schema", f"indexes still under construction after {timeout_s:.0f} s")

    def _existing_schema(self) -> tuple[set[tuple[str, str]], ...]:
        ranges: set[tuple[str, str]] = set()
        texts: set[tuple[str, str]] = set()
        uniques: set[tuple[str, str]] = set()
        # query(), not ro_query(): a read-only query fails on a graph not yet created.
        indexes = self._graph.query(
            "CALL db.indexes() YIELD label, properties, types RETURN label, properties, types"
        ).result_set
        for label, props, types in indexes:
            for prop in props:
                kinds = types.get(prop, [])
                if "RANGE" in kinds:
                    ranges.add((label, prop))
                if "FULLTEXT" in kinds:
                    texts.add((label, prop))
        constraints = self._graph.query(
            "CALL db.constraints() YIELD label, properties RETURN label, properties"
        ).result_set
        for label, props in constraints:
            uniques.update((label, prop) for prop in props)
        return ranges, texts, uniques

    def new_graph_in_bulk(self) -> BulkGraph | None:
        if self._node_count():
            return None
        # GRAPH.BULK builds a graph that does not exist: the empty one goes
        # (with its indexes, made again once the graph is built).
        self._db.connection.execute_command("GRAPH.DELETE", self._graph_name)
        return BulkGraph(self._send_bulk, node_count=self._node_count)

    def more_in_bulk(self) -> BulkGraph | None:
        return BulkGraph(self._send_bulk, node_count=self._node_count, adding=True)

    def _send_bulk(self, args: list[Any]) -> None:
        self._until_built()
        command = partial(self._db.connection.execute_command, "GRAPH.BULK", self._graph_name)
        self._timed("bulk", lambda: command(*args))

    def discard_graph(self) -> None:
        """Delete the graph (a bulk load that failed); `ensure_schema` makes it again."""
        with contextlib.suppress(Exception):  # not there: nothing to discard
            self._db.connection.execute_command("GRAPH.DELETE", self._graph_name)

    def _node_count(self) -> int:
        rows = self.read(Statement("count_nodes", "MATCH (n) RETURN count(n) AS n", {}))
        return int(rows[0]["n"])

    def health(self) -> bool:
        try:
            return bool(self._db.connection.ping())
        except Exception:  # noqa: BLE001 - any failure means unhealthy
            return False

    def other_clients(self) -> int:
        """How many connections to the server belong to other processes."""
        clients = self._db.connection.client_list()
        return sum(1 for client in clients if client.get("name") != self._client_name)

    def compact_log(self, timeout_s: float = 600.0) -> None:
        """Rewrite the append-only file as a snapshot, so the next start loads it
        at once instead of replaying every query ever written; not when what
        was written since the last snapshot is small (`_SMALL_LOG_BYTES`)."""
        self._wait_for_compaction(timeout_s)
        info = self._db.connection.info("persistence")
        if info["aof_current_size"] - info["aof_base_size"] < _SMALL_LOG_BYTES:
            return
        self.start_compacting_log()
        self._wait_for_compaction(timeout_s)

    def start_compacting_log(self) -> None:
        """`compact_log` in the background: a bulk load's exit waited 3.5 s
        a million records for it, with nothing else to do."""
        try:
            self._db.connection.bgrewriteaof()
        except Exception as error:
            # Redis may have started one itself (auto-aof-rewrite): that one will do.
            if "already in progress" not in str(error):
                raise

    def _wait_for_compaction(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            info = self._db.connection.info("persistence")
            if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
                return
            time.sleep(0.01)

    def shutdown_server(self) -> None:
        """Ask the server to exit (used for the embedded server only, after
        `compact_log`). It syncs its append-only file, which holds everything
        and is what it loads at start; it saves no snapshot besides (that wrote
        the whole graph a second time: 2 s a million records)."""
        # The server closes the socket as it exits, which the client reports as an error.
        with contextlib.suppress(Exception):
            self._db.connection.shutdown(nosave=True)

    def close(self) -> None:
        self._wire.close()
        if self._on_close is not None:
            self._on_close()
        self._db.connection.close()


# Renew a lease its owner holds; release it only for its owner.
_RENEW_LOCK = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
)
_RELEASE_LOCK = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
    "else return 0 end"
)


def _raised(reply: Any) -> Any:
    """The reply, unless it is the server's error: that is raised."""
    if isinstance(reply, Exception):
        raise reply
    return reply


def _with_params(statement: Statement) -> str:
    """The query with its parameters in FalkorDB's `CYPHER name=value` header.

    Written here rather than by the client: the client's generic encoder took
    most of the ingest time on large UNWIND batches.
    """
    if not statement.params:
        return statement.cypher
    header = " ".join(
        f"{name}={value.literal if type(value) is _Encoded else _literal(value)}"
        for name, value in statement.params.items()
    )
    return f"CYPHER {header} {statement.cypher}"


@dataclass(frozen=True)
class _Encoded:
    """A parameter value already written as its literal (by `prepared`)."""

    literal: str


def _literal(value: Any) -> str:
    """A Cypher literal for a JSON-like value (the escaping FalkorDB's header expects)."""
    kind = type(value)
    if kind is str:
        return _string(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return repr(value)
    if kind is list or kind is tuple:
        return "[" + ",".join([_literal(item) for item in value]) + "]"
    if kind is dict:
        # Strings and nulls inline: rows of records are mostly those, and this
        # loop runs for every field of every record an ingest writes.
        parts = []
        for key, item in value.items():
            if type(item) is str:
                parts.append(f"`{key}`:{_string(item)}")
            elif item is None:
                parts.append(f"`{key}`:null")
            else:
                parts.append(f"`{key}`:{_literal(item)}")
        return "{" + ",".join(parts) + "}"
    raise TypeError(f"cannot send {kind.__name__} as a graph query parameter")


def _string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
