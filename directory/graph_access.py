"""Opening the configured graph for a process (server or CLI command)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from directory.settings import Settings
from graph.connect import open_backend
from graph.store import GraphWriter


def open_graph(settings: Settings) -> GraphWriter:
    """Connect to (or start) the graph that the settings name."""
    backend = open_backend(
        settings.graph_url,
        data_dir=settings.data_dir,
        neo4j_user=settings.neo4j_user,
        neo4j_password=settings.neo4j_password,
        neo4j_database=settings.neo4j_database,
    )
    return GraphWriter(backend)


@contextmanager
def graph_session(settings: Settings) -> Iterator[GraphWriter]:
    """The graph for the length of a command; closed (and stopped if last) after."""
    writer = open_graph(settings)
    try:
        yield writer
    finally:
        writer.backend.close()
