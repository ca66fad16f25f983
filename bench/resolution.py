"""Resolution quality and time through our own pipeline, beside the reference
peers (Splink, recordlinkage) run in the same benchmark run on the same data.

    .venv/bin/python bench/resolution.py [--no-febrl] [--cross-channel N]
                                         [--synthetic N] [--no-peers] [--peer NAME]
                                         [--bulk] [--keep DIR]

For each data set: a fresh embedded graph, `directory ingest` (deterministic
rules; the graph has no match model yet, so no online linking), `directory
export assignments` (the deterministic figures), `directory resolve` (trains
the model, links in batch), export again; scored against the truth: pairwise
precision / recall / F1, B-cubed precision / recall, false merges (profiles
holding records of two or more people); for our cross-channel population also
the reachable recall (`quality.reachable_recall`: what a resolver could reach
without linking a record on an IP address alone). Data sets:

- Febrl4 and Febrl3 (bench/febrl.py) and, with the peers, splink_febrl.py and
  rl_febrl.py from the shared reference bench;
- `--cross-channel N`: our own seeded cross-channel population
  (directory.demo_data.generate_large_with_truth, every channel, the hard cases);
  no peer reads it;
- `--synthetic N`: the reference gen_synth.py set, converted by bench/febrl.py,
  with splink_synth.py and rl_synth.py on the same parquet.

`--peer splink` (or `recordlinkage`) runs only that peer: recordlinkage has no
reference figure at a million records.

Prints one table and, last, one JSON line with every row.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _common import CLI, cli_env, ensure_empty_dir, print_json, run_cli, write_records
from quality import bcubed, pairwise, reachable_recall
from reference import PEERS, Run, reference_python, row, run_script

BENCH = Path(__file__).resolve().parent
PEER_SCRIPTS = {"splink": "splink_", "recordlinkage": "rl_"}  # name -> script prefix


@dataclass(frozen=True)
class DataSet:
    label: str
    records: Path
    truth: Path
    peers: tuple[Run, ...] = ()
    reachable_recall: float | None = None  # see quality.reachable_recall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-febrl", action="store_true", help="skip Febrl4 and Febrl3")
    parser.add_argument("--cross-channel", type=int, default=20_000, metavar="N",
                        help="our cross-channel population of N records (0: skip)")  # fmt: skip
    parser.add_argument("--isp-leases", action="store_true",
                        help="the cross-channel population with the ISP's lease log "
                        "(source isp_lease, authoritative for IPs by default)")  # fmt: skip
    parser.add_argument("--synthetic", type=int, default=0, metavar="N",
                        help="the reference gen_synth.py set of N records (0: skip)")  # fmt: skip
    parser.add_argument("--no-peers", action="store_true", help="only our pipeline")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="also run ours with this DIRECTORY_* setting (repeatable)",
    )
    parser.add_argument("--peer", action="append", choices=sorted(PEER_SCRIPTS),
                        help="run only this peer (repeatable; default: both)")  # fmt: skip
    parser.add_argument(
        "--bulk",
        action="store_true",
        help="one `directory ingest --bulk` (write all, then resolve in "
        "batch) instead of `ingest` then `resolve`",
    )
    parser.add_argument("--keep", type=Path, metavar="DIR", help="work in DIR and keep it")
    args = parser.parse_args()
    if args.keep:
        bench(ensure_empty_dir(args.keep.resolve()), args)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-resolution-") as tmp:
            bench(Path(tmp), args)


def bench(work: Path, args: argparse.Namespace) -> None:
    needs_reference = not args.no_febrl or args.synthetic
    python = reference_python() if needs_reference else ""
    rows: list[dict[str, object]] = []
    variants: list[dict[str, str]] = [{}]
    variants += [dict([item.split("=", 1)]) for item in args.setting]
    for data in datasets(work, args, python):
        run = ours_bulk if args.bulk else ours
        rows += [run(work, data, variant) for variant in variants]
        if not args.no_peers:
            rows += peers(work, data, python, args.peer or sorted(PEER_SCRIPTS))
    print()
    print_rows(rows)
    print_json({"rows": rows})


def datasets(work: Path, args: argparse.Namespace, python: str) -> list[DataSet]:
    found = []
    if not args.no_febrl:
        for name in ("febrl4", "febrl3"):
            out = work / name
            subprocess.run([python, str(BENCH / "febrl.py"), name, str(out)], check=True,
                           capture_output=True)  # fmt: skip
            runs = (Run(name, "splink_febrl.py", (name,)), Run(name, "rl_febrl.py", (name,)))
            found.append(DataSet(name, out / "records.jsonl", out / "truth.json", runs))
    if args.cross_channel:
        out = work / "cross-channel"
        out.mkdir()
        print(f"generating the cross-channel population ({args.cross_channel}) ...", flush=True)
        write_records(out / "records.jsonl", args.cross_channel, isp_leases=args.isp_leases)
        label = f"cross-channel {args.cross_channel}" + (" + leases" if args.isp_leases else "")
        records, truth = out / "records.jsonl", out / "truth.json"
        reachable = reachable_recall(
            map(json.loads, records.read_text().splitlines()), json.loads(truth.read_text())
        )
        found.append(DataSet(label, records, truth, reachable_recall=round(reachable, 5)))
    if args.synthetic:
        found.append(synthetic(work, args.synthetic, python))
    return found


def synthetic(work: Path, n: int, python: str) -> DataSet:
    parquet = work / f"synth-{n}.parquet"
    out = work / f"synth-{n}"
    print(f"gen_synth.py {n} ...", flush=True)
    subprocess.run([python, str(PEERS / "gen_synth.py"), str(n), str(parquet)], check=True,
                   capture_output=True)  # fmt: skip
    subprocess.run([python, str(BENCH / "febrl.py"), "synthetic", str(out), "--parquet",
                    str(parquet)], check=True, capture_output=True)  # fmt: skip
    label = f"synthetic {n}"
    runs = tuple(Run(label, script, (str(parquet),)) for script in ("splink_synth.py",
                                                                     "rl_synth.py"))  # fmt: skip
    return DataSet(label, out / "records.jsonl", out / "truth.json", runs)


def ours(work: Path, data: DataSet, settings: dict[str, str]) -> dict[str, object]:
    """Ingest, export, resolve, export; score both exports."""
    env = cli_env(_data_dir(work, data, settings), COLUMNS="400", **settings)  # summary unwrapped
    truth = json.loads(data.truth.read_text())
    print(f"ours on {data.label}: ingest ...", flush=True)
    ingest_s, _, _ = timed([str(CLI), "ingest", str(data.records)], env)
    deterministic = pairwise(assignments(env, work), truth)
    print(f"  {ingest_s:.1f} s; resolve ...", flush=True)
    resolve_s, peak_mib, stderr = timed([str(CLI), "resolve"], env)
    final = assignments(env, work)
    print(f"  {resolve_s:.1f} s, {peak_mib:.0f} MiB peak", flush=True)
    return {
        "peer": "ours", "data": data.label, "method": _method(["FS + rules"], settings),
        **pairwise(final, truth), **bcubed(final, truth),
        "deterministic_recall": deterministic["pairwise_recall"],
        "ingest_s": round(ingest_s, 1), "resolve_s": round(resolve_s, 1),
        "seconds": round(ingest_s + resolve_s, 1), "peak_mib_resolve": round(peak_mib),
        "resolve_summary": _summary(stderr),
        **_without_leases(final, truth), **_reachable(data),
    }  # fmt: skip


def ours_bulk(work: Path, data: DataSet, settings: dict[str, str]) -> dict[str, object]:
    """`directory ingest --bulk` (records written, then resolved in batch); score the export."""
    env = cli_env(_data_dir(work, data, settings), COLUMNS="400", **settings)
    truth = json.loads(data.truth.read_text())
    print(f"ours on {data.label}: ingest --bulk ...", flush=True)
    seconds, peak_mib, stderr = timed([str(CLI), "ingest", "--bulk", str(data.records)], env)
    final = assignments(env, work)
    print(f"  {seconds:.1f} s, {peak_mib:.0f} MiB peak", flush=True)
    return {
        "peer": "ours", "data": data.label, "method": _method(["FS + rules, bulk"], settings),
        **pairwise(final, truth), **bcubed(final, truth),
        "seconds": round(seconds, 1), "peak_mib_resolve": round(peak_mib),
        "resolve_summary": _summary(stderr), **_without_leases(final, truth),
        **_reachable(data),
    }  # fmt: skip


def _data_dir(work: Path, data: DataSet, settings: dict[str, str]) -> Path:
    suffix = "".join(f"-{k}-{v}" for k, v in settings.items())
    return work / f"data-{data.label.replace(' ', '-')}{suffix}"


def _method(words: list[str], settings: dict[str, str]) -> str:
    return " ".join([*words, *(f"{k}={v}" for k, v in settings.items())])


def _summary(stderr: str) -> str:
    """The resolution's summary line, unwrapped."""
    line = next((line for line in stderr.splitlines() if line.startswith("resolved")), "")
    return " ".join(line.split())


def _without_leases(final: dict[str, str], truth: dict[str, str]) -> dict[str, object]:
    """The scores on the other channels' records alone, when the ISP's lease log
    is in the data (its records link by their account: easy pairs)."""
    others = {key: person for key, person in truth.items() if not key.startswith("isp_lease/")}
    if len(others) == len(truth):
        return {}
    scores = {**pairwise(final, others), **bcubed(final, others)}
    return {"without_lease_records": scores}


def _reachable(data: DataSet) -> dict[str, object]:
    if data.reachable_recall is None:
        return {}
    return {"reachable_recall": data.reachable_recall}


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a command; (wall seconds, its peak RSS in MiB, its stderr)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        err.seek(0)
        text = err.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{text[-3000:]}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024, re.sub(r"\s+\n", "\n", text)


def assignments(env: dict[str, str], work: Path) -> dict[str, str]:
    out = work / "assignments.jsonl"
    run_cli(["export", "assignments", "-o", str(out)], env)
    rows = map(json.loads, out.read_text().splitlines())
    return {f"{r['source']}/{r['source_id']}": r["profile_id"] for r in rows}


def peers(work: Path, data: DataSet, python: str, names: list[str]) -> list[dict[str, object]]:
    results = work / "results.jsonl"
    found: list[dict[str, object]] = []
    prefixes = tuple(PEER_SCRIPTS[name] for name in names)
    for run in (r for r in data.peers if r.script.startswith(prefixes)):
        seen = len(results.read_text().splitlines()) if results.exists() else 0
        wall, peak = run_script(python, run, work, results)
        new = results.read_text().splitlines()[seen:] if results.exists() else []
        found += [row(json.loads(line), run.label, wall, peak) for line in new]
    return found


def print_rows(rows: list[dict[str, object]]) -> None:
    header = ["data", "peer", "method", "P", "R", "R reachable", "F1", "B3 P", "B3 R",
              "false merges", "seconds"]  # fmt: skip
    keys = ["data", "peer", "method", "pairwise_precision", "pairwise_recall",
            "reachable_recall", "pairwise_f1", "bcubed_precision", "bcubed_recall",
            "false_merges", "seconds"]  # fmt: skip
    aliases = {"pairwise_precision": "precision", "pairwise_recall": "recall", "pairwise_f1": "f1"}
    table = [header]
    for r in rows:
        table.append([str(r.get(k, r.get(aliases.get(k, ""), "-"))) for k in keys])
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in [table[0], ["-" * w for w in widths], *table[1:]]:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
