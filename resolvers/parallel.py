"""Parse JSONL in a worker process, so that parsing (Python work) runs beside
resolution and the graph server instead of taking turns with them."""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor

from resolvers.records import ParsedLine, iter_jsonl


def iter_jsonl_parallel(
    lines: Iterable[str],
    *,
    default_region: str | None = None,
    chunk_size: int = 1000,
    in_flight: int = 4,
) -> Iterator[ParsedLine]:
    """`iter_jsonl`, with the parsing done in one worker process, in order."""
    # forkserver: forking a process that already holds threads and sockets is unsafe.
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        pending: deque[Future[list[ParsedLine]]] = deque()
        for first_line, chunk in _chunks(lines, chunk_size):
            pending.append(pool.submit(_parse_chunk, chunk, first_line, default_region))
            if len(pending) >= in_flight:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


def _chunks(lines: Iterable[str], size: int) -> Iterator[tuple[int, list[str]]]:
    chunk: list[str] = []
    first_line = 1
    for line in lines:
        chunk.append(line)
        if len(chunk) >= size:
            yield first_line, chunk
            first_line += len(chunk)
            chunk = []
    if chunk:
        yield first_line, chunk


def _parse_chunk(lines: list[str], first_line: int, region: str | None) -> list[ParsedLine]:
    return list(iter_jsonl(lines, default_region=region, first_line=first_line))
