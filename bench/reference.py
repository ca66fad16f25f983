"""The reference peers (Splink, recordlinkage) on Febrl and synthetic data.

    .venv/bin/python bench/reference.py [--synthetic N] [--no-febrl] [--keep DIR]

Runs the fixed scripts of /work/shared/reference-bench one after the other, as
subprocesses of the reference venv's python (`bench/reference_env.sh`, which
creates it on first use), with REFERENCE_RESULTS pointing into the work
directory, and collects the JSON lines they append. Prints a table and, last,
one JSON line with every row.

`seconds` is the peer's own figure (its README: load and evaluation excluded);
`wall s` is the whole subprocess; `peak MiB` is the peer's own peak RSS
(`peak_rss_mb_pipeline` before its evaluation when it reports one, else
`peak_rss_mb_inproc`); `proc MiB` is the subprocess's ru_maxrss.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _common import ensure_empty_dir, print_json

BENCH = Path(__file__).resolve().parent
PEERS = Path(os.environ.get("REFERENCE_BENCH", "/work/shared/reference-bench"))


@dataclass(frozen=True)
class Run:
    label: str  # the data, as the table shows it
    script: str
    args: tuple[str, ...]


def reference_python() -> str:
    """The reference venv's python, set up by bench/reference_env.sh if missing."""
    script = BENCH / "reference_env.sh"
    result = subprocess.run([str(script)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{script} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result.stdout.strip().splitlines()[-1]


def run_script(python: str, run: Run, work: Path, results: Path) -> tuple[float, float]:
    """Run one peer script; return (wall seconds, the process's peak RSS in MiB)."""
    env = dict(os.environ, REFERENCE_RESULTS=str(results), RUN_NAME=run.label)
    log = work / f"{Path(run.script).stem}-{run.label.replace(' ', '-')}.log"
    command = [python, str(PEERS / run.script), *run.args]
    print(f"{run.script} {' '.join(run.args)} ...", flush=True)
    with log.open("w") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=work, env=env, stdout=out, stderr=out)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = code = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
    if code != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{run.script} {' '.join(run.args)} exited {code}; log {log}:\n{tail}")
    peak = usage.ru_maxrss / 1024  # KiB on Linux
    print(f"  {wall:.1f} s wall, {peak:.0f} MiB peak", flush=True)
    return wall, peak


def row(line: dict[str, object], label: str, wall: float, proc_mib: float) -> dict[str, object]:
    peak = line.get("peak_rss_mb_pipeline") or line.get("peak_rss_mb_inproc")
    return {
        "peer": line["library"],
        "method": line["method"],
        "data": label,
        "n_records": line["n_records"],
        "precision": line["precision"],
        "recall": line["recall"],
        "f1": line["f1"],
        "seconds": line["seconds"],
        "wall_s": round(wall, 1),
        "peak_mib": peak,
        "proc_peak_mib": round(proc_mib),
        "loadavg_start": line.get("loadavg_start"),
    }


def print_rows(rows: list[dict[str, object]]) -> None:
    keys = ["peer", "method", "data", "precision", "recall", "f1", "seconds", "wall_s"]
    keys += ["peak_mib", "proc_peak_mib"]
    header = ["peer", "method", "data", "P", "R", "F1", "seconds", "wall s"]
    header += ["peak MiB", "proc MiB"]
    table = [header, *([str(r[k]) for k in keys] for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in [table[0], ["-" * w for w in widths], *table[1:]]:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def runs(synthetic: int | None, febrl: bool) -> list[Run]:
    plan = []
    if febrl:
        for script in ("splink_febrl.py", "rl_febrl.py"):
            plan += [Run(data, script, (data,)) for data in ("febrl4", "febrl3")]
    if synthetic:
        data = f"synth-{synthetic}.parquet"
        label = f"synthetic {synthetic}"
        plan.append(Run(label, "gen_synth.py", (str(synthetic), data)))
        plan += [Run(label, script, (data,)) for script in ("splink_synth.py", "rl_synth.py")]
    return plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--synthetic",
        type=int,
        metavar="N",
        help="also gen_synth.py N, then splink_synth.py and rl_synth.py on it",
    )
    parser.add_argument("--no-febrl", action="store_true", help="skip the four Febrl runs")
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="work in DIR (new or empty) and keep it"
    )
    args = parser.parse_args()
    if args.keep:
        bench(ensure_empty_dir(args.keep.resolve()), args.synthetic, not args.no_febrl)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-reference-") as tmp:
            bench(Path(tmp), args.synthetic, not args.no_febrl)


def bench(work: Path, synthetic: int | None, febrl: bool) -> None:
    python = reference_python()
    results = work / "results.jsonl"
    rows: list[dict[str, object]] = []
    for run in runs(synthetic, febrl):
        seen = len(results.read_text().splitlines()) if results.exists() else 0
        wall, peak = run_script(python, run, work, results)
        new = results.read_text().splitlines()[seen:] if results.exists() else []
        rows += [row(json.loads(line), run.label, wall, peak) for line in new]
    print()
    print_rows(rows)
    versions = json.loads(results.read_text().splitlines()[0])["versions"] if rows else {}
    print_json({"reference_rows": rows, "versions": versions})


if __name__ == "__main__":
    main()
