"""Lookup throughput and latency of a real `directory serve`, driven by wrk.

    .venv/bin/python bench/lookup.py [--records 100000] [--clients 32] [--seconds 20]
                                     [--workers 2] [--data-dir DIR]

Builds a graph with `directory ingest` of generate_large(n) (or reuses a non-empty
--data-dir made from the same --records), makes an agent key, samples identifiers
from the generated records as a helpdesk would send them (un-normalised), starts
`directory serve`, checks ~50 lookups with httpx, then runs wrk against GET /health
and POST /graphql lookup, one after the other, with the same connections and
duration. Prints a table and, last, one JSON line with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from _common import (
    CpuMeter,
    Server,
    cli_env,
    print_json,
    print_table,
    process_tree,
    redis_pid,
    run_cli,
    wait_redis_stopped,
    write_records,
)

from directory.demo_data import generate_large

TARGET_LOOKUPS_PER_S = 800
TARGET_P99_MS = 25.0
SAMPLE_SIZE = 2_000
CHECKED = 50
MIN_FOUND = 0.9
# Identifier types a helpdesk asks about (not IPs or device ids).
LOOKUP_TYPES = ("email", "phone", "account", "twitter", "facebook", "linkedin")
QUERY = (
    "query($t:String!,$v:String!){ lookup(identifier:{type:$t,value:$v})"
    "{ id displayName kind identifiers { type value } } }"
)
WRK_INSTALL = (
    "wrk is not on PATH. Install it (Debian/Ubuntu): "
    "apt-get update && apt-get install -y wrk   (macOS: brew install wrk)"
)

# Rotates through one pre-built request per line of the bodies file (POST), or
# sends the plain GET when no file is given. Counts non-2xx answers, GraphQL
# errors and null lookups per thread; done() prints one JSON line, "WRK {...}".
LUA = r"""
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  non2xx, gql_errors, not_found = 0, 0, 0
  requests, n, i = {}, 0, 0
  if args[1] then
    for body in io.lines(args[1]) do
      n = n + 1
      requests[n] = wrk.format("POST", nil, nil, body)
    end
    i = (id * 7919) % n  -- threads start at different places in the sample
  end
end

function request()
  if n == 0 then return wrk.format() end
  i = i % n + 1
  return requests[i]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  elseif n > 0 then
    if body:find('"errors"', 1, true) then gql_errors = gql_errors + 1 end
    if body:find('"lookup":null', 1, true) then not_found = not_found + 1 end
  end
end

function done(summary, latency, requests)
  local c = {non2xx = 0, gql_errors = 0, not_found = 0}
  for _, thread in ipairs(threads) do
    for k, _ in pairs(c) do c[k] = c[k] + thread:get(k) end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "non2xx": %d, "gql_errors": %d, "not_found": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, c.non2xx, c.gql_errors, c.not_found,
    e.connect, e.read, e.write, e.timeout))
end
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=32, help="concurrent connections")
    parser.add_argument("--seconds", type=int, default=20, help="per wrk run")
    parser.add_argument("--workers", type=int, default=2, help="directory serve --workers")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument(
        "--data-dir", type=Path,
        help="reuse this graph if non-empty (built from the same --records); else build it here",
    )  # fmt: skip
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit(WRK_INSTALL)
    with tempfile.TemporaryDirectory(prefix="bench-lookup-") as tmp:
        work = Path(tmp)
        data_dir = args.data_dir or work / "data"
        run(args, work, data_dir.resolve())


def build_graph(work: Path, data_dir: Path, n_records: int) -> None:
    if data_dir.exists() and any(data_dir.iterdir()):
        print(f"reusing the graph in {data_dir}")
        return
    records_file = work / "records.jsonl"
    print(f"writing {n_records} records and ingesting them into {data_dir} ...", flush=True)
    write_records(records_file, n_records)
    run_cli(["ingest", str(records_file)], cli_env(data_dir))
    records_file.unlink()


def identifier_sample(n_records: int, size: int, seed: int = 1) -> list[tuple[str, str]]:
    """Distinct (type, value) pairs exactly as the generated records carry them.

    Phones only in international form: the query sends no region and the server
    has no DIRECTORY_DEFAULT_REGION, so a national number finds nobody by design.
    """
    seen: dict[tuple[str, str], None] = {}
    for record in generate_large(n_records):
        identifiers = record.get("identifiers")
        assert isinstance(identifiers, list)
        for ident in identifiers:
            type_, value = ident["type"], ident["value"]
            if type_ in LOOKUP_TYPES and (type_ != "phone" or value.startswith("+")):
                seen[(type_, value)] = None
    pairs = list(seen)
    return random.Random(seed).sample(pairs, min(size, len(pairs)))


def check_lookups(url: str, key: str, sample: list[tuple[str, str]]) -> tuple[float, float]:
    """Send lookups one by one; fail on any error; return the share found and the
    median latency in ms of these unloaded, sequential requests."""
    found, elapsed = 0, []
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        for type_, value in sample:
            payload = {"query": QUERY, "variables": gql_vars(type_, value)}
            started = time.perf_counter()
            answer = client.post("/graphql", json=payload)
            elapsed.append(time.perf_counter() - started)
            body = answer.json()
            if answer.status_code != 200 or body.get("errors"):
                raise SystemExit(f"lookup {type_}={value!r} failed ({answer.status_code}): {body}")
            found += body["data"]["lookup"] is not None
    return found / len(sample), statistics.median(elapsed) * 1000


def gql_vars(type_: str, value: str) -> dict[str, str]:
    return {"t": type_, "v": value}


def wrk(
    url: str, *, clients: int, seconds: int, threads: int, lua: Path,
    headers: tuple[str, ...] = (), bodies: Path | None = None,
) -> dict[str, float]:  # fmt: skip
    """One wrk run; the figures its Lua done() printed, plus requests/s and ms latencies."""
    command = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "--timeout", "10s"]
    for header in headers:
        command += ["-H", header]
    command += ["-s", str(lua), url]
    if bodies:
        command += ["--", str(bodies)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next((x for x in output.splitlines() if x.startswith("WRK ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no figures:\n{output}")
    raw: dict[str, float] = json.loads(line[4:])
    figures = {k: v for k, v in raw.items() if not k.endswith("_us")}
    figures["requests_per_s"] = raw["requests"] / (raw["duration_us"] / 1e6)
    for name in ("p50", "p90", "p99", "max"):
        figures[f"{name}_ms"] = raw[f"{name}_us"] / 1000
    return figures


def cpu_rows(name: str, figures: dict[str, float]) -> list[tuple[str, str, str]]:
    return [
        (f"{name} CPU per request: server / graph / other",
         f"{figures['cpu_server_ms']:.2f} / {figures['cpu_graph_ms']:.2f} / "
         f"{figures['cpu_other_ms']:.2f} ms", ""),
        (f"{name}: cores busy (of {os.cpu_count()})", f"{figures['cores_busy']:.2f}", ""),
    ]  # fmt: skip


def cpu_per_request(spent: dict[str, float], requests: float, seconds: int) -> dict[str, float]:
    """CPU milliseconds per request: the server's processes, the graph server's,
    everything else on the machine (wrk, other tenants); and the cores kept busy."""
    per = {name: spent[name] / requests * 1000 for name in spent}
    return {
        "cpu_server_ms": per["server"],
        "cpu_graph_ms": per["graph"],
        "cpu_other_ms": per["machine"] - per["server"] - per["graph"],
        "cores_busy": spent["machine"] / seconds,
    }


def run(args: argparse.Namespace, work: Path, data_dir: Path) -> None:
    build_graph(work, data_dir, args.records)
    key = run_cli(["keys", "create", "--role", "agent", "--name", "bench"], cli_env(data_dir))
    key = key.strip()
    wait_redis_stopped(data_dir)  # the key's CLI stopped the graph; serve starts it again
    sample = identifier_sample(args.records, SAMPLE_SIZE)
    bodies = work / "bodies.jsonl"
    bodies.write_text(
        "".join(
            json.dumps({"query": QUERY, "variables": gql_vars(t, v)}, ensure_ascii=False) + "\n"
            for t, v in sample
        ),
        encoding="utf-8",
    )
    lua = work / "rotate.lua"
    lua.write_text(LUA, encoding="utf-8")

    with Server(data_dir, workers=args.workers, log=work / "serve.log") as server:
        print(f"serving on {server.url} with {args.workers} workers; checking lookups ...")
        found_share, serial_ms = check_lookups(server.url, key, sample[:CHECKED])
        print(f"  {found_share:.0%} of {CHECKED} lookups found a profile; {serial_ms:.1f} ms each")
        if found_share < MIN_FOUND:
            raise SystemExit(f"only {found_share:.0%} of the checked lookups found a profile")
        load = {"clients": args.clients, "seconds": args.seconds, "threads": args.wrk_threads}
        assert server.process is not None
        meter = CpuMeter(
            {"server": process_tree(server.process.pid), "graph": [redis_pid(data_dir) or 0]}
        )
        print(f"wrk GET /health, {args.clients} clients, {args.seconds} s ...", flush=True)
        meter.start()
        health = wrk(f"{server.url}/health", lua=lua, **load)
        health |= cpu_per_request(meter.stop(), health["requests"], args.seconds)
        print(f"wrk POST /graphql lookup, {args.clients} clients, {args.seconds} s ...", flush=True)
        meter.start()
        lookup = wrk(
            f"{server.url}/graphql", lua=lua, bodies=bodies, **load,
            headers=(f"Authorization: Bearer {key}", "Content-Type: application/json"),
        )  # fmt: skip
        lookup |= cpu_per_request(meter.stop(), lookup["requests"], args.seconds)

    ratio = lookup["requests_per_s"] / health["requests_per_s"]
    meets = lookup["requests_per_s"] >= TARGET_LOOKUPS_PER_S and lookup["p99_ms"] <= TARGET_P99_MS
    figures: dict[str, object] = {
        "records": args.records,
        "workers": args.workers,
        "clients": args.clients,
        "seconds": args.seconds,
        "sample": len(sample),
        "checked_found_share": round(found_share, 3),
        "serial_lookup_median_ms": round(serial_ms, 2),
        "lookup": {k: round(v, 2) for k, v in lookup.items()},
        "health": {k: round(v, 2) for k, v in health.items()},
        "lookup_to_health_ratio": round(ratio, 3),
        "target_lookups_per_s": TARGET_LOOKUPS_PER_S,
        "target_p99_ms": TARGET_P99_MS,
        "meets_target": meets,
    }
    print()
    print_table(
        [
            ("lookups/s", f"{lookup['requests_per_s']:,.0f}", f">= {TARGET_LOOKUPS_PER_S}"),
            ("lookup p50", f"{lookup['p50_ms']:.1f} ms", ""),
            ("lookup p90", f"{lookup['p90_ms']:.1f} ms", ""),
            ("lookup p99", f"{lookup['p99_ms']:.1f} ms", f"<= {TARGET_P99_MS:.0f} ms"),
            ("lookup non-2xx", f"{lookup['non2xx']:.0f}", "0"),
            ("lookup GraphQL errors", f"{lookup['gql_errors']:.0f}", "0"),
            ("lookup alone (sequential, median)", f"{serial_ms:.1f} ms", ""),
            ("lookups not found (null)", f"{lookup['not_found'] / lookup['requests']:.1%}", ""),
            ("health requests/s", f"{health['requests_per_s']:,.0f}", ""),
            ("health p99", f"{health['p99_ms']:.1f} ms", ""),
            ("health non-2xx", f"{health['non2xx']:.0f}", "0"),
            ("lookup/health throughput", f"{ratio:.2f}", ""),
            *cpu_rows("lookup", lookup),
            *cpu_rows("health", health),
        ]
    )
    print_json(figures)


if __name__ == "__main__":
    main()
