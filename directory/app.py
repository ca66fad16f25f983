"""The FastAPI application: GraphQL at /graphql, REST ingest at /records,
/health without a key. Every other endpoint needs `Authorization: Bearer <key>`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from directory import admin
from directory.auth import Role, RoleCache
from directory.graph_access import open_graph
from directory.graphql_api import Context, schema
from directory.graphql_http import GraphQLHTTP
from directory.ingest import ingest_lines
from directory.settings import Settings, get_settings
from graph.errors import GraphError
from graph.store import GraphWriter
from resolvers.records import iter_body

log = logging.getLogger("directory.app")


# Dependencies are `async def` although they do not await: FastAPI runs a plain
# `def` dependency in a worker thread, a hop per request for nothing.
async def _writer(request: Request) -> GraphWriter:
    writer: GraphWriter = request.app.state.writer
    return writer


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


GraphDep = Annotated[GraphWriter, Depends(_writer)]
SettingsDep = Annotated[Settings, Depends(_settings)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


async def _role(request: Request, writer: GraphDep) -> Role | None:
    roles: RoleCache = request.app.state.roles
    return roles.role_of(writer, _bearer(request))


RoleDep = Annotated[Role | None, Depends(_role)]


def require(role: Role, current: Role | None) -> Role:
    """401 without a valid key, 403 when the key's role is not enough."""
    if current is None:
        raise HTTPException(
            401,
            "missing or unknown API key: send 'Authorization: Bearer <key>' "
            "(make one with `directory keys create --role agent`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not current.allows(role):
        raise HTTPException(403, f"this needs the {role.value} role; your key is {current.value}")
    return current


def _graphql_context(request: Request) -> Context:
    """The resolvers' context, for a caller with at least the agent role."""
    state = request.app.state
    caller = state.roles.caller_of(state.writer, _bearer(request))
    require(Role.AGENT, caller.role if caller else None)
    return Context(writer=state.writer, settings=state.settings, caller=caller)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application, on the graph the settings name (opened at startup)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.roles = RoleCache()
        app.state.writer = await run_in_threadpool(open_graph, settings)
        log.info("graph ready (%s)", app.state.writer.backend.dialect.engine)
        app.state.queue.warm(app.state.writer)
        try:
            yield
        finally:
            await run_in_threadpool(app.state.writer.backend.close)

    app = FastAPI(title="Identity directory", lifespan=lifespan)

    @app.exception_handler(GraphError)
    async def graph_unavailable(request: Request, error: GraphError) -> JSONResponse:
        """One answer for every graph failure outside GraphQL (which masks its own)."""
        log.error("%s %s: %s", request.method, request.url.path, error)
        return JSONResponse(
            {"detail": "the identity graph is unavailable; try again shortly"}, status_code=503
        )

    admin.install(app)
    graphql = GraphQLHTTP(schema, _graphql_context)
    # First in the table: the hot path is matched before the admin pages are tried.
    app.router.routes.insert(0, Route("/graphql", graphql.endpoint, methods=["GET", "POST"]))

    @app.get("/health")
    async def health(writer: GraphDep) -> JSONResponse:
        """Liveness and graph reachability; the only endpoint without a key."""
        ok = await run_in_threadpool(writer.backend.health)  # never block the loop on it
        body = {"status": "ok" if ok else "degraded", "graph": writer.backend.dialect.engine}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.post("/records")
    async def post_records(
        request: Request, writer: GraphDep, settings: SettingsDep, role: RoleDep
    ) -> dict[str, Any]:
        """Ingest a JSON array or JSONL body; bad records are reported, the rest go in."""
        require(Role.ADMIN, role)
        body = (await request.body()).decode("utf-8", errors="replace")
        parsed = iter_body(body, default_region=settings.default_region)
        report = await run_in_threadpool(
            ingest_lines, writer, parsed, settings=settings, origin="request"
        )
        return report.as_dict()

    return app
