"""Pick the graph engine from one setting, `DIRECTORY_GRAPH_URL`.

- unset: the embedded FalkorDB, data in `DIRECTORY_DATA_DIR` (default ./data);
- `falkordb://host:port[/graph]`: an external FalkorDB server;
- `neo4j://…`, `neo4j+s://…`, `bolt://…`: Neo4j (user and password from the URL
  or from the settings).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from graph.backend import GraphBackend
from graph.errors import GraphConfigurationError
from graph.schema import ensure_schema

NEO4J_SCHEMES = ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")


def open_backend(
    url: str | None,
    *,
    data_dir: Path,
    neo4j_user: str = "neo4j",
    neo4j_password: str = "",
    neo4j_database: str | None = None,
) -> GraphBackend:
    """Open the configured engine and make sure its schema exists."""
    if not url:
        from graph.embedded import open_embedded

        # Under the data directory's start lock: two processes opening it at
        # once must not both create the missing indexes (the second would fail).
        return open_embedded(data_dir, prepare=ensure_schema)
    backend = _open(url, data_dir, neo4j_user, neo4j_password, neo4j_database)
    ensure_schema(backend)
    return backend


def _open(url: str, data_dir: Path, user: str, password: str, database: str | None) -> GraphBackend:
    parts = urlsplit(url)
    if parts.scheme == "falkordb":
        from graph.falkordb_backend import FalkorDBBackend

        name = parts.path.strip("/") or "directory"
        return FalkorDBBackend(graph_name=name, host=parts.hostname, port=parts.port)
    if parts.scheme in NEO4J_SCHEMES:
        from graph.neo4j_backend import Neo4jBackend

        bare = urlunsplit((parts.scheme, _host_port(parts.hostname, parts.port), "", "", ""))
        return Neo4jBackend(
            url=bare,
            user=unquote(parts.username) if parts.username else user,
            password=unquote(parts.password) if parts.password else password,
            database=parts.path.strip("/") or database,
        )
    raise GraphConfigurationError(
        f"DIRECTORY_GRAPH_URL {url!r}: unknown scheme {parts.scheme!r}; "
        "use falkordb://host:port, neo4j://host:port or bolt://host:port, "
        "or leave it unset for the embedded graph"
    )


def _host_port(host: str | None, port: int | None) -> str:
    return f"{host or 'localhost'}:{port}" if port else (host or "localhost")
