"""Ingest throughput and peak memory of `directory ingest` on a fresh embedded graph.

    .venv/bin/python bench/ingest.py [--records 100000] [--batch-size N] [--keep DIR]

Writes generate_large(n) to JSONL (timed apart, not counted), runs the real CLI
on an empty data dir, then `directory export assignments` to count profiles.
Prints a table and, last, one JSON line with the figures.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from _common import (
    CLI,
    RedisPeakSampler,
    cli_env,
    ensure_empty_dir,
    print_json,
    print_table,
    run_cli,
    wait_redis_stopped,
    write_records,
)
from quality import pairwise

from directory.settings import Settings

TARGET_RECORDS_PER_S = 3_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, help="DIRECTORY_BATCH_SIZE (default: 1000)")
    parser.add_argument(
        "--keep", type=Path, metavar="DIR",
        help="work in DIR (new or empty) and keep it: records.jsonl, data/, assignments.jsonl",
    )  # fmt: skip
    args = parser.parse_args()
    if args.keep:
        run(ensure_empty_dir(args.keep), args.records, args.batch_size)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
            run(Path(tmp), args.records, args.batch_size)


def run(work: Path, n_records: int, batch_size: int | None) -> None:
    records_file, data_dir = work / "records.jsonl", work / "data"
    print(f"writing {n_records} records to {records_file} ...", flush=True)
    generate_s = write_records(records_file, n_records)
    print(f"  {generate_s:.1f} s (not counted)", flush=True)

    extra = {"COLUMNS": "200"}  # keep rich from wrapping the summary line
    if batch_size:
        extra["DIRECTORY_BATCH_SIZE"] = str(batch_size)
    env = cli_env(data_dir, **extra)
    print(f"directory ingest (data dir {data_dir}) ...", flush=True)
    stderr_file = work / "ingest.stderr"
    with RedisPeakSampler(data_dir) as redis, stderr_file.open("w") as stderr:
        command = [str(CLI), "ingest", str(records_file)]
        started = time.perf_counter()
        result = subprocess.run(command, env=env, stdout=stderr, stderr=stderr, check=False)
        code = result.returncode
        ingest_s = time.perf_counter() - started
        # The CLI stops the embedded graph as it leaves; keep sampling until it is gone.
        wait_redis_stopped(data_dir)
    cli_peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    log = stderr_file.read_text(errors="replace")
    if code not in (0, 1):  # 1 means some records were rejected; the rest went in
        raise SystemExit(f"`directory ingest` exited {code}:\n{log[-3000:]}")
    summary = next((line for line in log.splitlines() if line.startswith("read ")), "")
    print(f"  {summary or '(no summary line)'}")
    rejected = re.search(r"rejected (\d+)", summary)

    assignments_file = work / "assignments.jsonl"
    started = time.perf_counter()
    run_cli(["export", "assignments", "-o", str(assignments_file)], env)
    export_s = time.perf_counter() - started
    with assignments_file.open(encoding="utf-8") as rows:
        assigned = {
            f"{row['source']}/{row['source_id']}": row["profile_id"]
            for row in map(json.loads, rows)
        }
    profile_ids = list(assigned.values())
    profiles = len(set(profile_ids))
    truth = json.loads((work / "truth.json").read_text())
    quality = pairwise(assigned, truth)

    records_per_s = n_records / ingest_s
    mib = 1024.0
    figures: dict[str, object] = {
        "records": n_records,
        "batch_size": batch_size or Settings.model_fields["batch_size"].default,
        "generate_s": round(generate_s, 2),
        "ingest_s": round(ingest_s, 2),
        "records_per_s": round(records_per_s, 1),
        "target_records_per_s": TARGET_RECORDS_PER_S,
        "meets_target": records_per_s >= TARGET_RECORDS_PER_S,
        "ingest_exit_code": code,
        "rejected": int(rejected.group(1)) if rejected else None,
        "cli_peak_rss_mib": round(cli_peak_kib / mib, 1),
        "redis_peak_rss_mib": round(redis.peak_kib / mib, 1),
        "export_s": round(export_s, 2),
        "exported_records": len(profile_ids),
        "profiles": profiles,
        "records_per_profile": round(len(profile_ids) / profiles, 2) if profiles else None,
        **quality,
    }
    print()
    print_table(
        [
            ("records", f"{n_records:,}", ""),
            ("ingest wall time", f"{ingest_s:.1f} s", ""),
            ("records/s", f"{records_per_s:,.0f}", f">= {TARGET_RECORDS_PER_S:,}"),
            ("peak RSS, ingest CLI", f"{cli_peak_kib / mib:,.0f} MiB", ""),
            ("peak RSS, redis-server", f"{redis.peak_kib / mib:,.0f} MiB", ""),
            ("rejected", str(figures["rejected"]), "0"),
            ("records exported", f"{len(profile_ids):,}", f"{n_records:,}"),
            ("profiles", f"{profiles:,}", ""),
            ("pairwise precision", f"{quality['pairwise_precision']:.4f}", ""),
            ("pairwise recall", f"{quality['pairwise_recall']:.4f}", ""),
            ("false merges (profiles with 2+ people)", str(quality["false_merges"]), "0"),
        ]
    )
    print_json(figures)


if __name__ == "__main__":
    main()
