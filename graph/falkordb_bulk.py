"""FalkorDB's GRAPH.BULK: a new graph built from binary blobs of nodes and
edges, without Cypher. It is what makes a bulk load fast: a million records
with their identifiers go in within seconds, where CREATE statements took
minutes (each one looks its identifiers up in an index and maintains it).

It builds a graph that does not exist yet (the indexes are created once it
is built), or adds to one (the indexes take the new nodes in; their ids are
read back, not foretold).

The format (FalkorDB's bulk_insert.c): `GRAPH.BULK graph [BEGIN] nodes edges
labels types blob…`; a blob is a header (the label or type, NUL-terminated,
a uint32 property count, each property name NUL-terminated), then entities:
a node is its properties, an edge the uint64 ids of its ends then its
properties; a property is a type byte and its value. A query's nodes are
numbered blob by blob, after the nodes of the queries before it.
"""

from __future__ import annotations

import itertools
import struct
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from graph.errors import GraphError

_NULL, _BOOL, _DOUBLE, _STRING, _LONG, _ARRAY = b"\x00", 1, 2, 3, 4, 5
_ENDS = struct.Struct("=QQ")
# One query's blobs at most: Redis takes up to 512 MB a string, 1 GB a query.
_MAX_QUERY_BYTES = 64 << 20
# Adding to a graph, smaller queries: the engine takes one in while this side
# builds the next, where a first resolution's profiles and their edges made
# one query each, which the engine took in while this side waited (3 s and
# about 8 s a million records). A new graph's load keeps the larger ones (one
# load in 16 MB queries took longer; not measured further).
_ADDING_QUERY_BYTES = 16 << 20

_ENTITIES_AT_ONCE = 10_000  # `edges_between` and `encoded_nodes` check a query's size after so many

Send = Callable[[list[Any]], None]  # the GRAPH.BULK arguments after the graph's name


def value_bytes(value: Any) -> bytes:
    """One property as GRAPH.BULK reads it (None: the property is not set)."""
    if type(value) is str:  # first: most values are
        # A NUL would end the string early: such a text is not bulk-loadable.
        if "\x00" in value:
            raise ValueError("a text with a NUL character cannot be bulk-loaded")
        return b"\x03" + value.encode() + b"\x00"
    kind = type(value)
    if value is None:
        return _NULL
    if kind is bool:
        return struct.pack("=B?", _BOOL, value)
    if kind is int:
        return struct.pack("=Bq", _LONG, value)
    if kind is float:
        return struct.pack("=Bd", _DOUBLE, value)
    if kind is list or kind is tuple:
        return struct.pack("=Bq", _ARRAY, len(value)) + b"".join(map(value_bytes, value))
    raise TypeError(f"cannot bulk-load a {kind.__name__}")


def texts_bytes(values: Sequence[str | None]) -> bytes:
    """`value_bytes` of each text (or None), joined: encoded at once, in a
    third of the time of one at a time (a million records' load encodes about
    fifteen million)."""
    text = "".join(["\x00" if value is None else "\x03" + value + "\x00" for value in values])
    if text.count("\x00") != len(values):  # one each: a text's end, or None's type
        raise ValueError("a text with a NUL character cannot be bulk-loaded")
    return text.encode()


def ends_bytes(start: int, end: int) -> bytes:
    """An edge's ends, by their nodes' ids, as GRAPH.BULK reads them."""
    return _ENDS.pack(start, end)


class Node:
    """A node sent in bulk; its id is known once its query is sent (a query
    numbers its nodes label by label, not in the order they were added), or
    a node of the graph already (`Node(its id)`)."""

    __slots__ = ("id",)

    def __init__(self, node_id: int = -1) -> None:
        self.id = node_id


class _Blob:
    """The pending entities of one label or edge type."""

    def __init__(self, name: str, props: Sequence[str]) -> None:
        header = [name.encode() + b"\x00", struct.pack("=I", len(props))]
        self.header = b"".join(header + [p.encode() + b"\x00" for p in props])
        self.props = len(props)
        self.nodes: list[Node] = []
        self.parts: list[bytes] = []  # a node's properties; an edge's (ends packed at the end)
        self.ends: list[tuple[Node, Node]] = []
        self.packed: list[bytes] = []  # edges with their ends' ids packed already

    def take(self) -> bytes:
        if self.ends:
            assert all(a.id >= 0 and b.id >= 0 for a, b in self.ends), "an edge to an unknown id"
            pairs = zip(self.ends, self.parts, strict=True)
            self.parts = [_ENDS.pack(start.id, end.id) + part for (start, end), part in pairs]
        blob = self.header + b"".join(self.parts) + b"".join(self.packed)
        self.nodes, self.parts, self.ends, self.packed = [], [], [], []
        return blob


class BulkGraph:
    """Nodes and edges for a new graph, sent in queries of bounded size.
    Declare each label and edge type with its properties, add entities, then
    `finish` (or, if the caller fails, `abandon`): until then a query may still
    be going in."""

    def __init__(self, send: Send, *, node_count: Callable[[], int], adding: bool = False) -> None:
        """`adding`: to a graph that exists. Its new nodes' ids are then not
        known here (the engine reuses deleted nodes' ids first, the last freed
        first): read them back before adding edges to them."""
        self._send = send
        self._node_count = node_count  # the graph's, as sent so far
        self._labels: dict[str, _Blob] = {}
        self._types: dict[str, _Blob] = {}
        self._nodes = self._edges = self._bytes = 0  # pending in the next query
        self._adding = adding
        self._sent_nodes = node_count() if adding else 0
        self._begun = adding
        self._query_bytes = min(
            _MAX_QUERY_BYTES, _ADDING_QUERY_BYTES if adding else _MAX_QUERY_BYTES
        )
        self._in_flight: _Sending | None = None  # the query the engine is taking in

    def label(self, name: str, props: Sequence[str]) -> None:
        self._labels[name] = _Blob(name, props)

    def edge_type(self, name: str, props: Sequence[str]) -> None:
        self._types[name] = _Blob(name, props)

    def node(self, label: str, values: Sequence[Any]) -> Node:
        """Add a node with its properties' values, in the declared order."""
        props = self._labels[label].props
        assert len(values) == props, f"{label}: {len(values)} values for {props}"
        return self.encoded_node(label, b"".join(map(value_bytes, values)))

    def encoded_node(self, label: str, properties: bytes) -> Node:
        """`node` with its properties encoded already (`value_bytes` of each,
        in the declared order)."""
        blob = self._labels[label]
        node = Node()
        blob.nodes.append(node)
        self._add(blob, properties)
        self._nodes += 1
        return node

    def encoded_nodes(self, label: str, nodes: Iterable[bytes]) -> None:
        """Nodes with their properties encoded already, whose ids are not
        wanted here (they are read back), sending each query's worth as it fills."""
        blob, each = self._labels[label], iter(nodes)
        while part := list(itertools.islice(each, _ENTITIES_AT_ONCE)):
            blob.nodes += [Node() for _ in part]
            blob.parts += part
            self._bytes += sum(map(len, part))
            self._nodes += len(part)
            self.flush_if_full()

    def edge(self, edge_type: str, start: Node, end: Node, values: Sequence[Any]) -> None:
        """Add an edge between two nodes (of this query or earlier ones)."""
        props = self._types[edge_type].props
        assert len(values) == props, f"{edge_type}: {len(values)} values for {props}"
        self.encoded_edge(edge_type, start, end, b"".join(map(value_bytes, values)))

    def encoded_edge(self, edge_type: str, start: Node, end: Node, properties: bytes) -> None:
        """`edge` with its properties encoded already."""
        blob = self._types[edge_type]
        blob.ends.append((start, end))
        self._add(blob, properties)
        self._edges += 1

    def edges_between(self, edge_type: str, edges: Iterable[bytes]) -> None:
        """Add edges between nodes of the graph, each its ends' ids
        (`ends_bytes`) and its properties encoded already (`value_bytes` of
        each, in the declared order), sending each query's worth as it fills:
        the way for the many edges of a resolution, whose constant values are
        encoded once (a million edges took 7 s one at a time through `edge`).
        Given lazily, the next are encoded while the engine takes a query in."""
        blob, each = self._types[edge_type], iter(edges)
        while part := list(itertools.islice(each, _ENTITIES_AT_ONCE)):
            blob.packed += part
            self._bytes += sum(map(len, part))
            self._edges += len(part)
            self.flush_if_full()

    def flush_if_full(self) -> None:
        """Send the pending entities if they make a query's worth (call it
        between whole groups of entities: an edge's nodes must be sent with it
        or before it)."""
        if self._bytes >= self._query_bytes:
            self._flush()

    def finish(self) -> None:
        """Send what is pending (an empty graph is still created); return once
        it is in."""
        if self._nodes or self._edges or not self._begun:
            self._flush()
        self._settle()

    def abandon(self) -> None:
        """Wait for the query going in, if any, whatever its outcome (the load
        failed: what it sent is about to be discarded). A Ctrl-C meanwhile is
        raised once it is in."""
        self._settle(its_error=False)

    def _add(self, blob: _Blob, entity: bytes) -> None:
        blob.parts.append(entity)
        self._bytes += len(entity)

    def _flush(self) -> None:
        # Ids are counted on this side (in `_go`): a node someone else created
        # before or while a query went would shift its edges, and every later
        # one, onto the wrong nodes. Counted before each query, and after it in
        # a new graph (when adding, new nodes' ids are read back, not foretold).
        before = self._sent_nodes if self._begun else None
        for blob in self._labels.values():
            for node in blob.nodes:
                node.id = -1 if self._adding else self._sent_nodes
                self._sent_nodes += 1
        after = None if self._adding else self._sent_nodes
        labels = [blob.take() for blob in self._labels.values()]
        types = [blob.take() for blob in self._types.values()]
        begin = [] if self._begun else ["BEGIN"]
        query = [*begin, self._nodes, self._edges, len(labels), len(types), *labels, *types]
        self._begun = True
        self._nodes = self._edges = self._bytes = 0
        # The engine takes this query in while the next one is built here
        # (it took 6 s of a million records' load, with this side waiting).
        self._settle()
        self._in_flight = _Sending(lambda: self._go(query, before, after))

    def _go(self, query: list[Any], before: int | None, after: int | None) -> None:
        self._check_count(before)
        self._send(query)
        self._check_count(after)

    def _check_count(self, expected: int | None) -> None:
        if expected is not None and self._node_count() != expected:
            raise GraphError("bulk", "the graph changed while it was being built in bulk")

    def _settle(self, *, its_error: bool = True) -> None:
        """Wait for the query going in; its error, if any, is raised here if asked."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            in_flight.wait(its_error=its_error)


class _Sending:
    """A call running on a thread of its own; `wait` returns once it is done."""

    def __init__(self, call: Callable[[], None]) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call,), name="bulk-send")
        self._thread.start()

    def _run(self, call: Callable[[], None]) -> None:
        try:
            call()
        except BaseException as error:  # noqa: BLE001 - handed over by wait()
            self._error = error

    def wait(self, *, its_error: bool = True) -> None:
        """Wait until the call is done, through interruptions (raised after);
        then raise what the call raised, if asked."""
        interrupted: BaseException | None = None
        while self._thread.is_alive():
            try:
                self._thread.join()
            except BaseException as error:  # noqa: BLE001 - raised once the call is done
                interrupted = error
        if interrupted is not None:
            raise interrupted
        if its_error and self._error is not None:
            raise self._error
