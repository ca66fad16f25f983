"""Shared fixtures: real graphs (embedded FalkorDB; Neo4j where Docker runs) and
a real HTTP server. Nothing here mocks the graph."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from directory.app import create_app
from directory.auth import Role, create_key
from directory.settings import Settings
from graph.backend import GraphBackend
from graph.embedded import open_embedded, stop_embedded
from graph.schema import ensure_schema
from graph.store import GraphWriter


@pytest.fixture(scope="session")
def embedded_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One embedded server for the session; each test gets its own graph on it."""
    path = tmp_path_factory.mktemp("embedded")
    keeper = open_embedded(path, graph_name="keeper")
    yield path
    keeper.close()
    stop_embedded(path)  # even if a test left a connection open


def _neo4j_backend() -> Iterator[GraphBackend]:
    try:
        import docker

        docker.from_env().ping()
    except Exception as error:  # noqa: BLE001 - any failure means no engine to run Neo4j in
        pytest.skip(f"Neo4j tests need a Docker engine for testcontainers; none here ({error})")
    from testcontainers.neo4j import Neo4jContainer

    from graph.neo4j_backend import Neo4jBackend

    with Neo4jContainer("neo4j:5-community") as container:
        backend = Neo4jBackend(
            url=container.get_connection_url(),
            user="neo4j",
            password=container.password,
            database=None,
        )
        yield backend
        backend.close()


@pytest.fixture(scope="session")
def neo4j_backend() -> Iterator[GraphBackend]:
    """A Neo4j in a container for the session (skipped without Docker)."""
    yield from _neo4j_backend()


@pytest.fixture(params=["falkordb", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def graph(request: pytest.FixtureRequest, embedded_dir: Path) -> Iterator[GraphWriter]:
    """A fresh, empty identity graph on each engine (the contract suite runs on both)."""
    if request.param == "neo4j":
        backend: GraphBackend = request.getfixturevalue("neo4j_backend")
        from graph.backend import Statement

        backend.write(Statement("clear", "MATCH (n) DETACH DELETE n", {}))
    else:
        backend = open_embedded(embedded_dir, graph_name=f"test-{uuid.uuid4().hex[:12]}")
    ensure_schema(backend)
    yield GraphWriter(backend)
    if request.param == "falkordb":
        backend.close()


@pytest.fixture
def falkor(embedded_dir: Path) -> Iterator[GraphWriter]:
    """A fresh embedded graph only, for tests about the service rather than the engine."""
    yield from fresh_embedded_graph(embedded_dir)


def fresh_embedded_graph(embedded_dir: Path) -> Iterator[GraphWriter]:
    """A new, empty graph on the session's embedded server, closed after."""
    backend = open_embedded(embedded_dir, graph_name=f"test-{uuid.uuid4().hex[:12]}")
    ensure_schema(backend)
    yield GraphWriter(backend)
    backend.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on a data directory of the test's own."""
    return Settings(data_dir=tmp_path / "data", graph_url=None, batch_size=50)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LiveServer:
    """The real app served by uvicorn on a loopback port, in a thread."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    """A live server on the test's own embedded graph."""
    with LiveServer(settings) as live:
        yield live


@pytest.fixture
def keys(server: LiveServer, settings: Settings) -> dict[Role, str]:
    """One API key per role, made the way `directory keys create` makes them."""
    backend = open_embedded(settings.data_dir)
    try:
        return {role: create_key(GraphWriter(backend), role=role) for role in Role}
    finally:
        backend.close()


def gql(server: LiveServer, key: str | None, query: str, **variables: object) -> httpx.Response:
    """POST a GraphQL query with a key."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(
        f"{server.url}/graphql",
        json={"query": query, "variables": variables},
        headers=headers,
        timeout=30,
    )
