"""The embedded FalkorDB: shared per data directory, survives restarts and crashes."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from directory.settings import Settings
from graph import falkordb_backend
from graph.embedded import open_embedded, process_running
from graph.falkordb_backend import FalkorDBBackend
from graph.schema import ensure_schema
from graph.store import GraphWriter
from tests.helpers import load, profile_of, rec


def _writer(data_dir: Path) -> GraphWriter:
    backend = open_embedded(data_dir)
    ensure_schema(backend)
    return GraphWriter(backend)


def _pid(data_dir: Path) -> int:
    return int((data_dir / "falkordb.pid").read_text())


def test_restart_keeps_every_record(tmp_path: Path, settings: Settings) -> None:
    writer = _writer(tmp_path)
    load(writer, [rec("crm", str(i), "Ana", email=f"a{i}@x.org") for i in range(30)], settings)
    profile = profile_of(writer, "crm", "7")
    pid = _pid(tmp_path)
    writer.backend.close()  # last client: the server stops cleanly
    assert not process_running(pid)
    again = _writer(tmp_path)
    try:
        assert again.counts()["records"] == 30
        assert profile_of(again, "crm", "7") == profile
    finally:
        again.backend.close()


def test_the_log_is_compacted_when_much_was_written_since_its_last_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last client out rewrites the append-only file as a snapshot, but
    not for a few writes (they replay at once); one started meanwhile in the
    background is waited for, not done twice."""
    writer = _writer(tmp_path)
    backend = writer.backend
    assert isinstance(backend, FalkorDBBackend)

    def rewrites() -> int:
        return int(backend._db.connection.info("persistence")["aof_rewrites"])

    backend.compact_log()
    done = rewrites()
    writer.set_setting("note", "a few bytes")
    backend.compact_log()
    assert rewrites() == done
    monkeypatch.setattr(falkordb_backend, "_SMALL_LOG_BYTES", 1)
    backend.compact_log()
    assert rewrites() == done + 1
    writer.set_setting("note", "more")
    backend.start_compacting_log()
    backend.compact_log()
    assert rewrites() == done + 2
    backend.close()
    again = _writer(tmp_path)
    try:
        assert again.setting("note") == "more"
    finally:
        again.backend.close()


def test_processes_share_one_server_per_data_dir(tmp_path: Path) -> None:
    first = _writer(tmp_path)
    pid = _pid(tmp_path)
    second = _writer(tmp_path)
    assert _pid(tmp_path) == pid
    first.backend.close()  # another client is still connected: keep running
    assert process_running(pid)
    assert second.backend.health()
    second.backend.close()
    assert not process_running(pid)


def test_recovers_from_a_crash_and_a_stale_pid(tmp_path: Path, settings: Settings) -> None:
    writer = _writer(tmp_path)
    load(writer, [rec("crm", "1", "Ana", email="a@x.org")], settings)
    time.sleep(1.5)  # appendfsync everysec: what is a second old is on disk
    os.kill(_pid(tmp_path), signal.SIGKILL)
    time.sleep(0.2)
    (tmp_path / "falkordb.pid").write_text("999999\n")  # and a pid nobody has
    again = _writer(tmp_path)
    try:
        assert again.counts()["records"] == 1
    finally:
        again.backend.close()
