"""Work done by a forked copy of the process (`resolvers.forked`)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from resolvers.forked import Forked, ForkedChunks, ForkedWorkError, Handover


def test_the_copy_sends_back_its_arrays() -> None:
    parent = os.getpid()
    data = np.arange(1_000_000, dtype=np.int64)  # in memory before the fork: not sent to it

    def work() -> list[np.ndarray]:
        return [np.array([os.getpid()]), data * 2, np.zeros((3, 4), dtype=np.float32),
                np.empty(0, dtype=np.int64)]  # fmt: skip

    with Forked(work) as forked:
        pid, doubled, table, empty = forked.result()
    assert pid[0] != parent
    assert np.array_equal(doubled, data * 2)
    assert (table.shape, table.dtype) == ((3, 4), np.dtype(np.float32))
    assert (empty.shape, empty.dtype) == ((0,), np.dtype(np.int64))


def test_the_copy_goes_first_out_of_memory_and_ignores_ctrl_c() -> None:
    """The kernel stops the copy before its parent; Ctrl-C, held back over
    the fork, is ignored in the copy and taken again in the parent."""

    def work() -> list[np.ndarray]:
        adj = int(Path("/proc/self/oom_score_adj").read_text())
        ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
        blocked = signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])
        return [np.array([adj, ignored, blocked])]

    with Forked(work) as forked:
        [(adj, ignored, blocked)] = forked.result()
    assert (adj, ignored, blocked) == (1000, True, False)
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    assert signal.getsignal(signal.SIGINT) != signal.SIG_IGN


def test_an_error_in_the_copy_is_raised_with_its_traceback() -> None:
    def work() -> list[np.ndarray]:
        raise ValueError("no such key: 'dob'")

    with Forked(work) as forked, pytest.raises(ForkedWorkError) as raised:
        forked.result()
    assert "ValueError: no such key: 'dob'" in str(raised.value)
    assert "in work" in str(raised.value)  # the child's traceback


def test_a_copy_that_dies_is_reported() -> None:
    def work() -> list[np.ndarray]:
        os._exit(3)

    with Forked(work) as forked, pytest.raises(ForkedWorkError, match=r"\(exit status 3\)"):
        forked.result()


def test_a_copy_killed_is_reported_with_its_signal() -> None:
    def work() -> list[np.ndarray]:
        os.kill(os.getpid(), signal.SIGKILL)
        return []

    with Forked(work) as forked, pytest.raises(ForkedWorkError, match="killed by signal 9"):
        forked.result()


def test_arrays_of_objects_are_refused_with_the_reason() -> None:
    def work() -> list[np.ndarray]:
        return [np.array(["a", None], dtype=object)]

    with Forked(work) as forked, pytest.raises(ForkedWorkError, match="array of objects"):
        forked.result()


def test_leaving_without_the_result_stops_the_copy() -> None:
    def work() -> list[np.ndarray]:
        time.sleep(60)
        return []

    started = time.perf_counter()
    with Forked(work) as forked:
        pid = forked._pid
    assert time.perf_counter() - started < 5
    with pytest.raises(ChildProcessError):  # reaped: no such child any more
        os.waitpid(pid, os.WNOHANG)


def test_an_array_given_after_the_fork_reaches_the_copy() -> None:
    handover = Handover(5, np.int64)

    def work() -> list[np.ndarray]:
        return [handover.take() * 10]

    with Forked(work, handover) as forked:
        time.sleep(0.05)  # the copy waits for it meanwhile
        handover.give([1, 2, 3, 4, 5])
        (found,) = forked.result()
    assert found.tolist() == [10, 20, 30, 40, 50]


def test_a_copy_given_nothing_fails_rather_than_waits() -> None:
    handover = Handover(3, np.int64)
    with Forked(lambda: [handover.take()], handover) as forked:
        handover.close()  # as when this process stops without giving
        with pytest.raises(ForkedWorkError, match="gave it nothing"):
            forked.result()


def _chunk_work(parent: int, die_on: int | None = None) -> Callable[[int], np.ndarray]:
    """A chunk's work: its number and the pid of the process that did it
    (three chunk sizes); a copy (not this process) kills itself on `die_on`."""

    def work(k: int) -> np.ndarray:
        if k == die_on and os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.01)  # long enough for both copies to take chunks
        return np.array([[k, os.getpid()]] * (1 + k % 3), dtype=np.int64)

    return work


def test_chunks_are_done_by_the_copies_and_given_in_order() -> None:
    parent = os.getpid()
    sizes = [1 + k % 3 for k in range(40)]
    started: list[int] = []
    work = _chunk_work(parent)

    def coded(k: int) -> np.ndarray:  # the chunk's number and its doer's pid in one
        done = work(k)
        coded: np.ndarray = done[:, 0] * 1_000_000 + done[:, 1]
        return coded

    with ForkedChunks(
        sizes, np.int64, coded, copies=2, started=lambda: started.append(1)
    ) as chunks:
        given = [chunk.copy() for chunk in chunks.each()]
    assert [len(chunk) for chunk in given] == sizes
    assert [set((chunk // 1_000_000).tolist()) for chunk in given] == [{k} for k in range(40)]
    doers = {int(pid) for chunk in given for pid in chunk % 1_000_000}
    assert len(doers) == 2  # both copies took chunks
    assert parent not in doers
    assert started == []  # run in the copies only


def test_a_chunk_whose_copy_died_is_done_here(caplog: pytest.LogCaptureFixture) -> None:
    parent = os.getpid()
    sizes = [1 + k % 3 for k in range(12)]
    work = _chunk_work(parent, die_on=5)
    with ForkedChunks(sizes, np.int64, lambda k: work(k)[:, 1], copies=2) as chunks:
        doers = [set(chunk.tolist()) for chunk in chunks.each()]
    assert doers[5] == {parent}
    assert all(parent not in pids for k, pids in enumerate(doers) if k != 5)
    assert "killed by signal 9" in caplog.text


def test_an_error_in_a_chunk_is_raised_here() -> None:
    def work(k: int) -> np.ndarray:
        if k == 3:
            raise ValueError("chunk 3 cannot be bounded")
        return np.zeros(2, dtype=np.int64)

    with ForkedChunks([2] * 6, np.int64, work, copies=2) as chunks:
        given = chunks.each()
        assert [len(next(given)) for _ in range(3)] == [2, 2, 2]
        with pytest.raises(ValueError, match="chunk 3 cannot be bounded"):
            next(given)


def test_more_chunks_than_a_pipe_holds_are_done_here(caplog: pytest.LogCaptureFixture) -> None:
    parent = os.getpid()
    with ForkedChunks(
        [1] * 20_000, np.int64, lambda k: np.array([os.getpid()]), copies=2
    ) as chunks:
        doers = {int(chunk[0]) for chunk in chunks.each()}
    assert doers == {parent}
    assert "20000 chunks are too many to share" in caplog.text
