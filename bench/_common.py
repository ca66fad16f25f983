"""Shared parts of the benchmarks: the real `directory` CLI on a fresh embedded
graph, a real `directory serve` process, and peak-memory sampling.

Nothing here imports the service's graph code: every figure comes from the
same processes a user runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType

import httpx

from directory.demo_data import generate_large_with_truth, write_jsonl

REPO = Path(__file__).resolve().parent.parent
CLI = REPO / ".venv" / "bin" / "directory"
PIDFILE = "falkordb.pid"  # written by the embedded redis-server (graph/embedded.py)


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment for the CLI: the embedded graph in ``data_dir``."""
    if not CLI.exists():
        raise SystemExit(f"{CLI} not found: create the venv first (./dev test)")
    env = dict(os.environ)
    env.pop("DIRECTORY_GRAPH_URL", None)  # always the embedded graph
    env["DIRECTORY_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


def run_cli(args: list[str], env: dict[str, str], *, stdout: Path | None = None) -> str:
    """Run `directory ARGS`, fail loudly on a non-zero exit, return its stdout."""
    command = [str(CLI), *args]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(
            f"`directory {' '.join(args)}` exited {result.returncode}:\n{result.stderr[-3000:]}"
        )
    if stdout is not None:
        stdout.write_text(result.stdout, encoding="utf-8")
    return result.stdout


def write_records(path: Path, n_records: int, *, isp_leases: bool = False) -> float:
    """Write ``generate_large(n_records)`` (with the ISP's lease log when asked)
    as JSONL, and beside it `truth.json` ("source/source_id" -> person); return
    the seconds it took."""
    started = time.perf_counter()
    truth: dict[str, str] = {}

    def records() -> Iterator[dict[str, object]]:
        for record, person in generate_large_with_truth(n_records, isp_leases=isp_leases):
            truth[f"{record['source']}/{record['source_id']}"] = person
            yield record

    written = write_jsonl(records(), path)
    assert written == n_records, (written, n_records)
    (path.parent / "truth.json").write_text(json.dumps(truth))
    return time.perf_counter() - started


def ensure_empty_dir(path: Path) -> Path:
    """``path`` as a new or empty directory (never reuse someone's graph by accident)."""
    path.mkdir(parents=True, exist_ok=True)
    if any(path.iterdir()):
        raise SystemExit(f"{path} is not empty; give a new or empty directory")
    return path


def redis_pid(data_dir: Path) -> int | None:
    """The embedded redis-server's pid, while it runs."""
    try:
        return int((data_dir / PIDFILE).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_redis_stopped(data_dir: Path, timeout_s: float = 60.0) -> bool:
    """True once the data dir's redis-server is gone (it removes its pid file on exit)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pid = redis_pid(data_dir)
        if pid is None or not pid_alive(pid):
            return True
        time.sleep(0.1)
    return False


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process has used, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """A process and its direct children (a `directory serve` and its workers)."""
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            children += [int(c) for c in (task / "children").read_text().split()]
    return [pid, *children]


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent not idle since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")  # idle, iowait


class CpuMeter:
    """CPU seconds spent by named groups of processes, and by the whole machine,
    between `start()` and `stop()`."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups
        self._start: dict[str, float] = {}
        self.spent: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        now = {name: sum(cpu_seconds(p) for p in pids) for name, pids in self.groups.items()}
        return now | {"machine": machine_busy_seconds()}

    def start(self) -> None:
        self._start = self._now()

    def stop(self) -> dict[str, float]:
        end = self._now()
        self.spent = {name: end[name] - self._start[name] for name in end}
        return self.spent


def _vm_hwm_kib(pid: int) -> int | None:
    """Peak resident set size (VmHWM) of a live process, in KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


class RedisPeakSampler:
    """Samples the embedded redis-server's VmHWM every ``interval_s`` in a thread.

    The server stops when its last client leaves, so the last sample may be up
    to one interval before its end; the append-only-file rewrite runs in a
    forked child that is not counted.
    """

    def __init__(self, data_dir: Path, interval_s: float = 0.2) -> None:
        self.data_dir = data_dir
        self.interval_s = interval_s
        self.peak_kib = 0
        self.pids: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            pid = redis_pid(self.data_dir)
            if pid is not None and (hwm := _vm_hwm_kib(pid)) is not None:
                self.pids.add(pid)
                self.peak_kib = max(self.peak_kib, hwm)
            self._stop.wait(self.interval_s)

    def __enter__(self) -> RedisPeakSampler:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """`directory serve --port P --workers W` as a subprocess on ``data_dir``.

    Stopped with SIGINT (as Ctrl-C would), so uvicorn runs its shutdown and
    the last worker to leave stops the embedded graph cleanly.
    """

    def __init__(self, data_dir: Path, *, workers: int, log: Path) -> None:
        self.data_dir = data_dir
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 300.0) -> None:
        args = ["serve", "--port", str(self.port), "--workers", str(self.workers)]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(CLI), *args],
                env=cli_env(self.data_dir),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C on the benchmark reaches us, not the server
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(
                    f"`directory serve` exited {self.process.returncode} during start; "
                    f"log {self.log}:\n{self.log.read_text(errors='replace')[-3000:]}"
                )
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"`directory serve` did not answer /health in {timeout_s:.0f} s")

    def stop(self, timeout_s: float = 60.0) -> None:
        """SIGINT, wait; SIGTERM then SIGKILL (its own process group) only if it hangs."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            print(f"warning: `directory serve` (pid {process.pid}) ignored SIGINT; terminating")
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if not wait_redis_stopped(self.data_dir):
            print(f"warning: the embedded graph in {self.data_dir} still runs after the server")

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def print_table(
    rows: Sequence[tuple[str, ...]], header: tuple[str, ...] = ("figure", "value", "target")
) -> None:
    """Rows (by default of figure, value, target) as an aligned plain-text table."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def print_json(figures: dict[str, object]) -> None:
    """The machine-readable last line."""
    print(json.dumps(figures, sort_keys=True))
