"""Server time of the stewards' pages (review queue, comparison, profile) on a big graph.

    .venv/bin/python bench/admin_pages.py --work DIR [--rounds 20]

DIR is a `bench/ingest.py --keep DIR` run (records.jsonl, data/,
assignments.jsonl) that `directory resolve` has resolved, so the graph holds
review candidates (see bench/README.md for the commands). The real
`directory serve` runs on it; a new steward key signs in; each page is asked
`--rounds` times: the queue (default and each filter), the comparison of the
top candidates, and the profile pages of the queue's profiles and of the
biggest profiles. Server time is read from the `Server-Timing` header each
admin response carries (the app's own time, what the issue's target is about);
wall time beside it. Prints a table and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import httpx
from _common import Server, cli_env, print_json, print_table, run_cli

TARGET_MS = 300.0
QUEUES = {"queue": "", "queue (unsure)": "status=unsure", "queue (source)": "source=twitter",
          "queue (kind)": "kind=employee"}  # fmt: skip
TOP_CANDIDATES = """{ reviewQueue(first: 20) { left right leftProfile rightProfile } }"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="a bench/ingest.py --keep DIR")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    data_dir = args.work / "data"
    env = cli_env(data_dir)
    key = run_cli(["keys", "create", "--role", "steward", "--name", "bench"], env).strip()
    with (args.work / "records.jsonl").open("rb") as lines:
        counts = {"records": sum(1 for _ in lines)}
    with Server(data_dir, workers=1, log=args.work / "admin-serve.log") as server:
        client = httpx.Client(base_url=server.url, timeout=60, headers={
            "Cookie": f"directory_admin_key={key}", "Authorization": f"Bearer {key}"})  # fmt: skip
        found = client.post("/graphql", json={"query": TOP_CANDIDATES}).json()["data"]
        candidates = found["reviewQueue"]
        profiles = list(dict.fromkeys(
            p for c in candidates for p in (c["leftProfile"], c["rightProfile"])))[:20]  # fmt: skip
        biggest = _biggest_profiles(args.work / "assignments.jsonl", 5)
        pages = {name: [f"/admin/queue?{query}"] for name, query in QUEUES.items()}
        pages["comparison"] = [
            f"/admin/review?{urlencode({'left': c['left'], 'right': c['right']})}"
            for c in candidates[:10]
        ]
        pages["profile (queue)"] = [f"/admin/profiles/{p}" for p in profiles]
        pages["profile (biggest)"] = [f"/admin/profiles/{p}" for p, _ in biggest]
        timings = {name: _time(client, urls, args.rounds) for name, urls in pages.items()}
    _report(timings, candidates=len(candidates), biggest=[n for _, n in biggest], counts=counts)


def _biggest_profiles(assignments: Path, n: int) -> list[tuple[str, int]]:
    if not assignments.exists():
        return []
    sizes: Counter[str] = Counter()
    with assignments.open() as lines:
        for line in lines:
            sizes[json.loads(line)["profile_id"]] += 1
    return sizes.most_common(n)


def _time(client: httpx.Client, urls: list[str], rounds: int) -> tuple[list[float], list[float]]:
    """(server ms, wall ms) of every request."""
    server_ms, wall_ms = [], []
    for _ in range(rounds):
        for url in urls:
            started = time.perf_counter()
            response = client.get(url, follow_redirects=False)
            wall_ms.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"GET {url}: {response.status_code} {response.text[:300]}")
            timing = response.headers["server-timing"]
            server_ms.append(float(timing.split("dur=")[1]))
    return server_ms, wall_ms


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _report(
    timings: dict[str, tuple[list[float], list[float]]], *, candidates: int, biggest: list[int],
    counts: dict[str, int],
) -> None:  # fmt: skip
    rows, figures = [], {"biggest_profiles": biggest, **counts}
    for name, (server_ms, wall_ms) in timings.items():
        if not server_ms:
            continue
        p50, p99 = statistics.median(server_ms), _percentile(server_ms, 0.99)
        rows.append((f"{name}: server p50 / p99 / max ms",
                     f"{p50:.1f} / {p99:.1f} / {max(server_ms):.1f}  (wall p50 "
                     f"{statistics.median(wall_ms):.1f}, n={len(server_ms)})",
                     f"<= {TARGET_MS:.0f}"))  # fmt: skip
        figures[name] = {
            "server_p50_ms": round(p50, 1), "server_p99_ms": round(p99, 1),
            "server_max_ms": round(max(server_ms), 1),
            "wall_p50_ms": round(statistics.median(wall_ms), 1), "n": len(server_ms),
        }  # fmt: skip
    print_table(rows)
    print_json(figures)


if __name__ == "__main__":
    main()
