"""Parse JSONL in worker processes, so that parsing (Python work) runs beside
resolution and the graph server instead of taking turns with them."""

from __future__ import annotations

import gc
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from resolvers.model import Record
from resolvers.records import ParsedLine, iter_jsonl

# Two: a bulk load has them also make what it writes of each record (`prepare`),
# more than one process keeps up with.
WORKERS = 2


def iter_jsonl_parallel(
    lines: Iterable[str],
    *,
    default_region: str | None = None,
    chunk_size: int = 1000,
    in_flight: int = 4,
    prepare: Callable[[Record], Any] | None = None,
) -> Iterator[ParsedLine]:
    """`iter_jsonl`, with the parsing done in worker processes, in order;
    `lines` as a text file gives them (no line break inside a line).
    `prepare`, if given, is called there on each record, and its result handed
    over with it (`ParsedLine.prepared`): work this process is spared."""
    # forkserver: forking a process that already holds threads and sockets is unsafe.
    context = multiprocessing.get_context("forkserver")
    # The cycle collector off in the workers: parsed records hold no cycles, and
    # it walked them again and again (parsing and pickling took a third longer).
    with ProcessPoolExecutor(WORKERS, mp_context=context, initializer=gc.disable) as pool:
        pending: deque[Future[list[ParsedLine]]] = deque()
        for first_line, chunk in _chunks(lines, chunk_size):
            pending.append(pool.submit(_parse_chunk, chunk, first_line, default_region, prepare))
            if len(pending) >= in_flight:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


def _chunks(lines: Iterable[str], size: int) -> Iterator[tuple[int, str]]:
    """The lines `size` at a time, joined: one text pickles in a fraction of
    the time a list of a thousand does."""
    chunk: list[str] = []
    first_line = 1
    for line in lines:
        chunk.append(line.removesuffix("\n"))
        if len(chunk) >= size:
            yield first_line, "\n".join(chunk)
            first_line += len(chunk)
            chunk = []
    if chunk:
        yield first_line, "\n".join(chunk)


def _parse_chunk(
    text: str, first_line: int, region: str | None, prepare: Callable[[Record], Any] | None
) -> list[ParsedLine]:
    parsed = iter_jsonl(text.split("\n"), default_region=region, first_line=first_line)
    if prepare is None:
        return list(parsed)
    return [
        line
        if line.record is None
        else ParsedLine(line.line, line.record, None, prepare(line.record))
        for line in parsed
    ]
