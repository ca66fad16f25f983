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


class Forked:
    """`work()` running in a forked copy of this process; `result()` gives
    its arrays. Use it as a context manager: leaving it stops a copy whose
    result was not taken (an error or Ctrl-C in this process meanwhile)."""

    def __init__(self, work: Callable[[], Sequence[Array]]) -> None:
        read, write = os.pipe()
        self._pid = os.fork()
        if self._pid == 0:
            os.close(read)
            _run_child(work, write)
        os.close(write)
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
