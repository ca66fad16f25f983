"""Online resolution latency: one new record at a time against a big graph.

    .venv/bin/python bench/online.py [--records 100000] [--probes 500] [--data-dir DIR]

Builds a graph with `directory ingest` of generate_large(n) and `directory
resolve` (which trains the match model), or reuses --data-dir when it already
holds them. Then, in this process, ingests probe records one at a time through
the one ingest code path (a batch of one: upsert, deterministic resolution,
then the online executor: full-text candidates, their whole profiles, scoring,
decisions, links), and times each. Probes are new records of people already in
the graph that share no strong identifier with them: a name and a city, as a
new tweet or a call typed by an agent would be. Prints the latency percentiles
and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from _common import cli_env, print_json, print_table, run_cli, write_records

from directory.demo_data import generate_large
from directory.ingest import MODELS, IngestReport, ingest_lines
from directory.settings import Settings
from graph.embedded import open_embedded
from graph.store import GraphWriter
from resolvers.records import iter_json_array_items

TARGET_P50_MS, TARGET_P99_MS = 5.0, 25.0
RUN = uuid.uuid4().hex[:8]  # probes are new records in every run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--probes", type=int, default=500)
    parser.add_argument("--data-dir", type=Path, help="reuse (or build and keep) this graph")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-online-") as tmp:
        data_dir = (args.data_dir or Path(tmp) / "data").resolve()
        build(Path(tmp), data_dir, args.records)
        measure(data_dir, probes(args.records, args.probes), args.records)


def build(work: Path, data_dir: Path, n_records: int) -> None:
    """Ingest and resolve, unless --data-dir already holds a resolved graph (its
    earlier probes stay in it: a few hundred records more)."""
    env = cli_env(data_dir)
    if data_dir.exists() and any(data_dir.iterdir()):
        if has_model(data_dir):
            print(f"reusing the resolved graph in {data_dir}", flush=True)
            return
    else:
        records = work / "records.jsonl"
        print(f"ingesting {n_records} records into {data_dir} ...", flush=True)
        write_records(records, n_records)
        run_cli(["ingest", str(records)], env)
    print("directory resolve (trains the model on first use) ...", flush=True)
    started = time.perf_counter()
    run_cli(["resolve"], env)
    print(f"  {time.perf_counter() - started:.1f} s", flush=True)


def has_model(data_dir: Path) -> bool:
    backend = open_embedded(data_dir)
    try:
        return MODELS.current(GraphWriter(backend)) is not None
    finally:
        backend.close()


def probes(n_records: int, count: int, seed: int = 5) -> list[dict[str, Any]]:
    """New records (name and city only) of people already in the graph."""
    named = [r for r in generate_large(n_records) if r.get("name")]
    chosen = random.Random(seed).sample(named, count)
    found = []
    for number, record in enumerate(chosen):
        attributes = record.get("attributes") or {}
        assert isinstance(attributes, dict)
        city = {"city": attributes["city"]} if attributes.get("city") else {}
        found.append({"source": "probe", "source_id": f"{RUN}-{number}",
                      "name": record["name"], "attributes": city})  # fmt: skip
    return found


def measure(data_dir: Path, records: list[dict[str, Any]], n_records: int) -> None:
    settings = Settings(data_dir=data_dir, graph_url=None, batch_size=1)
    backend = open_embedded(data_dir)
    writer = GraphWriter(backend)
    try:
        if MODELS.current(writer) is None:
            raise SystemExit("no match model in the graph: `directory resolve` did not train one")
        report = IngestReport()
        timings = []
        for record in records:
            started = time.perf_counter()
            ingest_lines(writer, iter_json_array_items([record], default_region=None),
                         settings=settings, origin="probe", report=report)  # fmt: skip
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        backend.close()
    ordered = sorted(timings)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print_table([
        ("graph records", f"{n_records:,}", ""),
        ("probes (one record per ingest)", str(len(records)), ""),
        ("linked by the model / review candidates",
         f"{report.probabilistic_links} / {report.review_candidates}", ""),
        ("latency p50", f"{p50:.1f} ms", f"≤ {TARGET_P50_MS} ms"),
        ("latency p90", f"{ordered[int(len(ordered) * 0.9)]:.1f} ms", ""),
        ("latency p99", f"{p99:.1f} ms", f"≤ {TARGET_P99_MS} ms"),
        ("latency max", f"{ordered[-1]:.1f} ms", ""),
    ])  # fmt: skip
    print_json({
        "records": n_records, "probes": len(records), "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2), "max_ms": round(ordered[-1], 2),
        "links": report.probabilistic_links, "review": report.review_candidates,
    })  # fmt: skip


if __name__ == "__main__":
    main()
