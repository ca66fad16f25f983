"""Online latency of two versions of the code, probe by probe in turn.

    .venv/bin/python bench/online_ab.py --old WORKTREE [--new DIR] --data-dir RESOLVED_GRAPH
                                        --records-file FILE [--probes 400]

On this shared machine, runs minutes apart differ by more than most changes
do. Here two worker processes, one per version (each importing the code of
its directory), each on its own copy of the resolved graph in --data-dir,
ingest the same probes (those of `bench/online.py`) one at a time, taking
turns in a seeded random order, so both see the same moments. Prints each
version's percentiles and decisions, and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import print_json, print_table

BENCH = Path(__file__).resolve().parent
_WORKER = """
import json, sys, time
sys.path.insert(0, sys.argv[4])
import online
from directory.ingest import IngestReport, ingest_lines
from directory.settings import Settings
from graph.embedded import open_embedded
from graph.store import GraphWriter
from resolvers.records import iter_json_array_items
data_dir, records_file, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
online.RUN = "ab"
probes = online.probes(list(online.named_records(online.Path(records_file), 0)), count)
settings = Settings(data_dir=data_dir, graph_url=None, batch_size=1)
backend = open_embedded(online.Path(data_dir))
writer, report = GraphWriter(backend), IngestReport()
print("ready", flush=True)
for line in sys.stdin:
    if int(line) < 0:
        break
    started = time.perf_counter()
    ingest_lines(writer, iter_json_array_items([probes[int(line)]], default_region=None),
                 settings=settings, origin="probe", report=report)
    print((time.perf_counter() - started) * 1000, flush=True)
print(json.dumps([report.probabilistic_links, report.review_candidates]), flush=True)
backend.close()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--old", type=Path, required=True, help="a checkout of the old code")
    parser.add_argument("--new", type=Path, default=BENCH.parent, help="default: this checkout")
    parser.add_argument("--data-dir", type=Path, required=True, help="a resolved graph (copied)")
    parser.add_argument("--records-file", type=Path, required=True)
    parser.add_argument("--probes", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-online-ab-") as tmp:
        workers = {
            who: _worker(code, args.data_dir, Path(tmp) / who, args.records_file, args.probes)
            for who, code in (("old", args.old), ("new", args.new))
        }
        timings = _alternate(workers, args.probes)
        decisions = {who: _finish(worker) for who, worker in workers.items()}
    medians = {who: statistics.median(times) for who, times in timings.items()}
    rows = [(who, f"{medians[who]:.2f} ms", f"{_pct(times, 0.9):.2f} ms",
             f"{_pct(times, 0.99):.2f} ms", "{} / {}".format(*decisions[who]))
            for who, times in timings.items()]  # fmt: skip
    print_table(rows, header=("code", "p50", "p90", "p99", "links / review"))
    print(f"p50 new / old: {medians['new'] / medians['old']:.2f}")
    print_json({who: {"p50_ms": round(medians[who], 2), "p99_ms": round(_pct(t, 0.99), 2),
                      "links": decisions[who][0], "review": decisions[who][1]}
                for who, t in timings.items()})  # fmt: skip


Worker = subprocess.Popen[str]


def _worker(code: Path, source: Path, data: Path, records: Path, probes: int) -> Worker:
    shutil.copytree(source, data)
    (data / "falkordb.pid").unlink(missing_ok=True)  # the copy's server is not running
    worker = subprocess.Popen(
        [sys.executable, "-c", _WORKER, str(data), str(records), str(probes), str(BENCH)],
        env=dict(os.environ, PYTHONPATH=str(code.resolve())),
        cwd=data,  # not a checkout: the code comes from PYTHONPATH
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert worker.stdout is not None
    while worker.stdout.readline().strip() != "ready":
        pass
    return worker


def _alternate(workers: dict[str, Worker], probes: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {who: [] for who in workers}
    turns = random.Random(3)
    for probe in range(probes):
        order = sorted(workers)
        turns.shuffle(order)
        for who in order:
            timings[who].append(float(_ask(workers[who], probe)))
    return timings


def _finish(worker: Worker) -> list[int]:
    decisions: list[int] = json.loads(_ask(worker, -1))
    worker.wait()
    return decisions


def _ask(worker: Worker, line: int) -> str:
    assert worker.stdin is not None
    assert worker.stdout is not None
    worker.stdin.write(f"{line}\n")
    worker.stdin.flush()
    return worker.stdout.readline()


def _pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


if __name__ == "__main__":
    main()
