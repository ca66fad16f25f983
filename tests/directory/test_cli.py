"""The `directory` command as a user runs it: real processes on a real data dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "directory"


def run(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DIRECTORY_DATA_DIR=str(data_dir))
    env.pop("DIRECTORY_GRAPH_URL", None)
    return subprocess.run(
        [str(BIN), *args], input=stdin, capture_output=True, text=True, env=env, timeout=120,
        check=False,
    )  # fmt: skip


def _jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_ingest_exit_codes_and_report(tmp_path: Path, data_dir: Path) -> None:
    good = _jsonl(tmp_path / "good.jsonl", [
        {"source": "crm", "source_id": "1", "name": "Ana", "identifiers": [
            {"type": "email", "value": "ana@example.com"}]},
    ])  # fmt: skip
    ok = run(data_dir, "ingest", str(good))
    assert ok.returncode == 0, ok.stderr
    assert "read 1, created 1, updated 0, rejected 0" in ok.stderr

    bad = tmp_path / "bad.csv"
    bad.write_text("source,source_id,name,email\ncrm,2,Luis,luis@example.com\ncrm,3,Eva,nope\n")
    refused = run(data_dir, "ingest", str(good), str(bad))
    assert refused.returncode == 1
    assert "created 1, updated 1, rejected 1" in refused.stderr
    assert f"{bad}:3" in refused.stderr
    assert "email" in refused.stderr


def test_stdin_keys_and_export(tmp_path: Path, data_dir: Path) -> None:
    lines = "".join(
        json.dumps({"source": "web", "source_id": str(i), "identifiers": [
            {"type": "account", "value": "AR-1" if i < 2 else "AR-2"}]}) + "\n"
        for i in range(3)
    )  # fmt: skip
    assert run(data_dir, "ingest", "-", stdin=lines).returncode == 0

    key = run(data_dir, "keys", "create", "--role", "agent")
    assert key.returncode == 0
    assert key.stdout.startswith("dir_")
    assert len(key.stdout.strip().splitlines()) == 1

    out = tmp_path / "assignments.jsonl"
    assert run(data_dir, "export", "assignments", "-o", str(out)).returncode == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["source"], r["source_id"]) for r in rows] == [
        ("web", "0"),
        ("web", "1"),
        ("web", "2"),
    ]
    assert rows[0]["profile_id"] == rows[1]["profile_id"] != rows[2]["profile_id"]


def test_two_processes_ingesting_one_email_make_one_profile(tmp_path: Path, data_dir: Path) -> None:
    files = [
        _jsonl(
            tmp_path / f"{source}.jsonl",
            [
                {
                    "source": source,
                    "source_id": str(i),
                    "identifiers": [{"type": "email", "value": f"person{i}@example.com"}],
                }
                for i in range(200)
            ],
        )
        for source in ("crm", "helpdesk")
    ]
    env = dict(os.environ, DIRECTORY_DATA_DIR=str(data_dir), DIRECTORY_BATCH_SIZE="10")
    procs = [
        subprocess.Popen([str(BIN), "ingest", str(f)], env=env, stderr=subprocess.PIPE)
        for f in files
    ]
    codes = [p.wait(timeout=120) for p in procs]
    assert codes == [0, 0], [p.stderr.read().decode()[-2000:] for p in procs if p.stderr]
    out = tmp_path / "assignments.jsonl"
    assert run(data_dir, "export", "assignments", "-o", str(out)).returncode == 0
    by_record = {
        (r["source"], r["source_id"]): r["profile_id"]
        for r in map(json.loads, out.read_text().splitlines())
    }
    assert len(by_record) == 400
    assert all(by_record[("crm", str(i))] == by_record[("helpdesk", str(i))] for i in range(200))
    assert len(set(by_record.values())) == 200


def test_help_explains_the_commands() -> None:
    result = subprocess.run([str(BIN), "--help"], capture_output=True, text=True, check=True)
    for command in ("serve", "ingest", "export", "keys", "demo"):
        assert command in result.stdout


def test_bad_settings_are_all_reported_without_a_traceback(data_dir: Path) -> None:
    env = dict(os.environ, DIRECTORY_DATA_DIR=str(data_dir), DIRECTORY_GENERIC_THRESHOLD="0",
               DIRECTORY_BATCH_SIZE="many")  # fmt: skip
    result = subprocess.run(
        [str(BIN), "keys", "create", "--role", "agent"], env=env, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "DIRECTORY_GENERIC_THRESHOLD='0'" in result.stderr
    assert "DIRECTORY_BATCH_SIZE='many'" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_demo_loads_resolves_and_prints_a_key(data_dir: Path) -> None:
    loaded = run(data_dir, "demo", "--customers", "80", "--employees", "10")
    assert loaded.returncode == 0, loaded.stderr
    said = " ".join(loaded.stderr.split())  # the console wraps long lines
    assert "rejected 0" in said
    assert "(trained now)" in said
    assert "Demo API key" in said
