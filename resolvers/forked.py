"""Work done beside this process by a forked copy of it, for phases of the
batch resolution that leave the second core idle. The copy reads this
process's memory as it was when forked (nothing is pickled to it: pickling a
million records' features cost more than making them) and sends back numpy
arrays only, as raw bytes (objects it made, pickled into one array, when
unpickling them costs less than making them).

The copy runs only the work it is given: no thread, socket, console or exit
handler of this process is used in it, it ignores Ctrl-C (this process stops
it), and it ends with `os._exit`. Memory is shared until either process writes
to it, and reading a Python object writes its reference count: the pages of
the objects both read end up copied (on a million records, the larger of
the two processes' peak RSS rose from about 4,980 to 5,200 MiB).
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import logging
import mmap
import os
import pickle
import signal
import struct
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Generic, NoReturn, TypeVar

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]
T = TypeVar("T")

log = logging.getLogger("resolvers.forked")


class ForkedWorkError(RuntimeError):
    """The forked copy failed (its traceback is the message) or died."""


class Handover:
    """An array this process fills after the fork, which the copy waits for
    (its work calls `take`). It lives in memory both share: giving it copies
    nothing through a pipe, and never waits for the copy to read."""

    def __init__(self, length: int, dtype: npt.DTypeLike) -> None:
        kind = np.dtype(dtype)
        memory = mmap.mmap(-1, max(1, length * kind.itemsize))  # anonymous, shared
        self.array: Array = np.frombuffer(memory, dtype=kind, count=length)
        self._ready, self._signal = os.pipe()

    def give(self, values: Array | Sequence[Any]) -> None:
        """Fill the array (in this process) and tell the copy."""
        self.array[:] = values
        os.write(self._signal, b"!")

    def take(self) -> Array:
        """The array, once this process gave it (in the copy)."""
        if os.read(self._ready, 1) != b"!":
            raise ForkedWorkError("the process that forked this copy gave it nothing")
        return self.array

    def _forked(self, *, in_copy: bool) -> None:
        """Each side closes the end of the signal it does not use: the copy
        then sees the end of it if this process stops without giving."""
        if in_copy:
            os.close(self._signal)
            self._signal = -1
        else:
            os.close(self._ready)
            self._ready = -1

    def close(self) -> None:
        """Close what is left of the signal (its memory goes with the array)."""
        for fd in (self._ready, self._signal):
            if fd >= 0:
                os.close(fd)
        self._ready = self._signal = -1


class Forked:
    """`work()` running in a forked copy of this process; `result()` gives
    its arrays. `handover`: an array given to the copy after the fork. Use it
    as a context manager: leaving it stops a copy whose result was not taken
    (an error or Ctrl-C in this process meanwhile). A fork that fails raises
    `OSError`, leaving nothing open."""

    def __init__(
        self, work: Callable[[], Sequence[Array]], handover: Handover | None = None
    ) -> None:
        read, write = os.pipe()
        # Ctrl-C held back over the fork: the copy ignores it before taking it.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self._pid = os.fork()
        except OSError:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            os.close(read)
            os.close(write)
            raise
        if self._pid == 0:
            _run_child(work, read, write, handover, mask)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.close(write)
        if handover is not None:
            handover._forked(in_copy=False)
        self._handover = handover
        self._pipe: io.BufferedReader | None = io.BufferedReader(io.FileIO(read, "r"))
        self._sent_all = False
        self._status = 0  # its wait status, once reaped

    def __enter__(self) -> Forked:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def result(self) -> list[Array]:
        """The work's arrays, once it is done; its error as `ForkedWorkError`."""
        pipe = self._pipe
        assert pipe is not None, "the result was taken already"
        try:
            try:
                status, body = pickle.load(pipe)  # noqa: S301 - our own copy wrote it
            except (EOFError, pickle.UnpicklingError):
                self.close()
                raise ForkedWorkError(
                    f"the forked work ended without a result ({_exit_status(self._status)})"
                ) from None
            if status != "ok":
                raise ForkedWorkError(f"the forked work failed:\n{body}")
            arrays = [_read_array(pipe, dtype, shape) for dtype, shape in body]
            self._sent_all = True
            return arrays
        finally:
            self.close()

    def close(self) -> None:
        """Stop the copy unless it sent everything, and reap it."""
        if self._pipe is None:
            return
        self._pipe.close()
        self._pipe = None
        if self._handover is not None:
            self._handover.close()
        if not self._sent_all:  # still working, or dead (a zombie takes the signal too)
            os.kill(self._pid, signal.SIGKILL)
        _, self._status = os.waitpid(self._pid, 0)


class Beside(Generic[T]):
    """`work()` in a forked copy of this process, its result pickled back:
    for objects that unpickle in less time than they take to make. `result()`
    gives it; where no copy could be forked, or it failed or died, `result()`
    does the work here (and logs why). Use it as a context manager."""

    def __init__(self, work: Callable[[], T], *, what: str) -> None:
        self._work, self._what = work, what
        self._forked: Forked | None = None
        try:
            self._forked = Forked(partial(_pickled, work))
        except OSError as error:
            log.warning("could not fork to make %s (%s): making them here", what, error)

    def __enter__(self) -> Beside[T]:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the copy unless it sent its result, and reap it."""
        if self._forked is not None:
            self._forked.close()

    def result(self) -> T:
        if self._forked is None:
            return self._work()
        try:
            (pickled,) = self._forked.result()
        except ForkedWorkError as error:
            log.warning("%s; making %s here", error, self._what)
            return self._work()
        made: T = pickle.loads(pickled.data)  # noqa: S301 - our own copy made it
        return made


def _pickled(work: Callable[[], object]) -> list[Array]:
    return [np.frombuffer(pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL), dtype=np.uint8)]


class ForkedChunks:
    """`work(k)` for each chunk k (of the given sizes) in `copies` forked
    copies of this process, each taking the next chunk as it finishes one
    (`started()` first, once in each copy). Each writes its chunk's array into
    memory all share: nothing is pickled either way, so the copies start at
    once and hold no copy of what they read. `each()` gives the chunks'
    arrays in order, as they are done. Chunks a copy could not do (it died,
    or no copy could be forked) are done here, with their errors raised here.
    Use it as a context manager: leaving it stops the copies."""

    _NUMBER = struct.Struct("=i")

    def __init__(
        self,
        sizes: Sequence[int],
        dtype: npt.DTypeLike,
        work: Callable[[int], Array],
        *,
        copies: int,
        started: Callable[[], None] = lambda: None,
    ) -> None:
        self._starts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).tolist()
        self._work = work
        kind = np.dtype(dtype)
        memory = mmap.mmap(-1, max(1, self._starts[-1] * kind.itemsize))  # anonymous, shared
        self.array: Array = np.frombuffer(memory, dtype=kind, count=self._starts[-1])
        self._copies: list[Forked] = []
        self._done, told = os.pipe()
        todo, queued = os.pipe()
        try:
            # The chunks' numbers wait in a pipe, each read by whichever copy
            # is free; its end is closed before any fork, so the copies see it.
            numbers = b"".join(self._NUMBER.pack(k) for k in range(len(sizes)))
            if len(numbers) > fcntl.fcntl(queued, fcntl.F_GETPIPE_SZ):
                log.warning("%d chunks are too many to share: doing them here", len(sizes))
                copies = 0
            else:
                os.write(queued, numbers)
            os.close(queued)
            queued = -1
            for _ in range(copies):
                self._copies.append(Forked(partial(self._in_copy, todo, told, started)))
        except OSError as error:  # out of memory or processes: the rest is done here
            log.warning("could fork only %d of %d copies (%s)", len(self._copies), copies, error)
        except BaseException:
            self.close()
            raise
        finally:
            for fd in (todo, told, queued):
                if fd >= 0:
                    os.close(fd)

    def __enter__(self) -> ForkedChunks:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def each(self) -> Iterator[Array]:
        done: set[int] = set()
        for k in range(len(self._starts) - 1):
            while k not in done and (told := self._told()) is not None:
                done.add(told)
            if k not in done:  # every copy has ended: this one does the rest
                self._chunk(k)[:] = self._work(k)
            yield self._chunk(k)
        for copy in self._copies:
            try:
                copy.result()
            except ForkedWorkError as error:
                log.warning("%s; its chunks were done here", error)

    def close(self) -> None:
        for copy in self._copies:
            copy.close()
        if self._done >= 0:
            os.close(self._done)
            self._done = -1

    def _chunk(self, k: int) -> Array:
        return self.array[self._starts[k] : self._starts[k + 1]]

    def _told(self) -> int | None:
        """The next chunk a copy tells is done; None once every copy has ended."""
        told = os.read(self._done, self._NUMBER.size)  # whole: a pipe's small writes are
        return self._NUMBER.unpack(told)[0] if told else None

    def _in_copy(self, todo: int, told: int, started: Callable[[], None]) -> list[Array]:
        os.close(self._done)
        started()
        while taken := os.read(todo, self._NUMBER.size):
            (k,) = self._NUMBER.unpack(taken)
            self._chunk(k)[:] = self._work(k)
            os.write(told, taken)
        return []


def _exit_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def _run_child(
    work: Callable[[], Sequence[Array]],
    read: int,
    write: int,
    handover: Handover | None,
    mask: Iterable[int],
) -> NoReturn:
    """The copy: whatever happens, it never returns into the code that forked
    it (that code's cleanup would use the parent's graph connection)."""
    code = 1
    try:
        # Ctrl-C reaches the whole process group: the parent stops the copy.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        # Out of memory, the kernel stops the copy first: the parent then
        # does the work itself (it would rather pick the larger parent).
        with contextlib.suppress(OSError):
            Path("/proc/self/oom_score_adj").write_text("1000")
        # Nothing of the parent's console (a progress bar's thread may have
        # held its lock at the fork) or logging.
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        logging.disable(logging.CRITICAL)
        os.close(read)
        if handover is not None:
            handover._forked(in_copy=True)
        with os.fdopen(write, "wb") as out:
            try:
                arrays = [_plain(a) for a in work()]
            except BaseException:  # noqa: BLE001 - every failure goes to the parent
                pickle.dump(("error", traceback.format_exc()), out)
            else:
                pickle.dump(("ok", [(a.dtype.str, a.shape) for a in arrays]), out)
                for array in arrays:
                    out.write(array.data.cast("B") if array.size else b"")
                code = 0
    finally:
        os._exit(code)  # not the parent's exit handlers, buffers or sockets


def _plain(array: Array) -> Array:
    """The array as raw bytes can carry it (contiguous; numbers, not objects)."""
    if array.dtype.hasobject:
        raise TypeError(f"an array of objects cannot be sent as bytes: {array.dtype}")
    return np.ascontiguousarray(array)


def _read_array(pipe: io.BufferedReader, dtype: str, shape: tuple[int, ...]) -> Array:
    array: Array = np.empty(shape, dtype=np.dtype(dtype))
    if array.size:
        got = pipe.readinto(array.data.cast("B"))
        if got != array.nbytes:
            raise ForkedWorkError(f"the forked work sent {got} of {array.nbytes} bytes")
    return array
