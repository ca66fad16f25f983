"""Work done beside this process by a forked copy of it, for phases of the
batch resolution that leave the second core idle. The copy reads this
process's memory as it was when forked (nothing is pickled to it: pickling a
million records' features cost more than making them) and sends back numpy
arrays only, as raw bytes.

The copy runs only the work it is given: no thread, socket or exit handler of
this process is used in it, and it ends with `os._exit`.
"""

from __future__ import annotations

import io
import mmap
import os
import pickle
import signal
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]


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
        os.close(self._signal if in_copy else self._ready)

    def _close(self) -> None:
        if self._signal >= 0:
            os.close(self._signal)
            self._signal = -1


class Forked:
    """`work()` running in a forked copy of this process; `result()` gives
    its arrays. `handover`: an array given to the copy after the fork. Use it
    as a context manager: leaving it stops a copy whose result was not taken
    (an error or Ctrl-C in this process meanwhile)."""

    def __init__(
        self, work: Callable[[], Sequence[Array]], handover: Handover | None = None
    ) -> None:
        read, write = os.pipe()
        self._pid = os.fork()
        if self._pid == 0:
            os.close(read)
            if handover is not None:
                handover._forked(in_copy=True)
            _run_child(work, write)
        os.close(write)
        if handover is not None:
            handover._forked(in_copy=False)
        self._handover = handover
        self._pipe: io.BufferedReader | None = io.BufferedReader(io.FileIO(read, "r"))

    def __enter__(self) -> Forked:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def result(self) -> list[Array]:
        """The work's arrays, once it is done; its error as `ForkedWorkError`."""
        assert self._pipe is not None, "the result was taken already"
        try:
            status, body = _load_header(self._pipe)
            if status != "ok":
                raise ForkedWorkError(f"the forked work failed:\n{body}")
            return [_read_array(self._pipe, dtype, shape) for dtype, shape in body]
        finally:
            self.close()

    def close(self) -> None:
        """Stop the copy unless it is done, and reap it."""
        if self._pipe is None:
            return
        self._pipe.close()
        self._pipe = None
        if self._handover is not None:
            self._handover._close()
        pid, _ = os.waitpid(self._pid, os.WNOHANG)
        if pid == 0:  # still running: nobody will read what it sends
            os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)


def _run_child(work: Callable[[], Sequence[Array]], fd: int) -> NoReturn:
    code = 1
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                arrays = [np.ascontiguousarray(a) for a in work()]
            except BaseException:  # noqa: BLE001 - every failure goes to the parent
                pickle.dump(("error", traceback.format_exc()), out)
            else:
                pickle.dump(("ok", [(a.dtype.str, a.shape) for a in arrays]), out)
                for array in arrays:
                    out.write(array.data.cast("B") if array.size else b"")
                code = 0
    finally:
        os._exit(code)  # not the parent's exit handlers, buffers or sockets


def _load_header(pipe: io.BufferedReader) -> tuple[str, Any]:
    try:
        header: tuple[str, Any] = pickle.load(pipe)  # noqa: S301 - our own forked copy wrote it
    except EOFError:
        raise ForkedWorkError("the forked work ended without a result") from None
    return header


def _read_array(pipe: io.BufferedReader, dtype: str, shape: tuple[int, ...]) -> Array:
    array: Array = np.empty(shape, dtype=np.dtype(dtype))
    if array.size:
        got = pipe.readinto(array.data.cast("B"))
        if got != array.nbytes:
            raise ForkedWorkError(f"the forked work sent {got} of {array.nbytes} bytes")
    return array
