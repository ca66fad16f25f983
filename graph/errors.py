"""The one error the graph layer raises, whatever the engine underneath."""


class GraphError(RuntimeError):
    """A graph query or the graph server failed; carries the query's name."""

    def __init__(self, query_name: str, reason: str) -> None:
        super().__init__(f"graph query {query_name!r} failed: {reason}")
        self.query_name = query_name
        self.reason = reason


class GraphUnavailableError(GraphError):
    """The graph server could not be started or reached."""


class GraphConfigurationError(ValueError):
    """The setting that names the graph is wrong (an unknown URL scheme)."""
