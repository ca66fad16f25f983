"""GraphQL over HTTP at `/graphql`, executed by graphql-core on Strawberry's schema.

Lookups are the service's hot path. Strawberry's HTTP view and `Schema.execute`
spent about a millisecond of CPU on each request (request handling, extension
hooks), as much as the lookup's own work. Here a request is read, its document
taken from a cache of parsed and validated documents, and executed directly.
The schema, its types, resolvers and permission checks stay Strawberry's, and
so does the GraphiQL page. Status codes follow what Strawberry's view answered:
400 (plain text) for a request that is not GraphQL, 200 with `errors` for one
that is but fails.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from inspect import isawaitable
from typing import Any

import strawberry
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    validate,
)
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from strawberry.http.ides import get_graphql_ide_html

log = logging.getLogger("directory.graphql")

INTERNAL_ERROR = "internal error: the server log has the details"
DOCUMENT_CACHE_SIZE = 512  # helpdesk tools send the same few documents again and again


class RequestError(Exception):
    """The request is not a GraphQL request (400)."""


@dataclass(frozen=True)
class Operation:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None


@dataclass(frozen=True)
class Prepared:
    """A query document once parsed and validated: the document, or why not."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]


class GraphQLHTTP:
    """The `/graphql` endpoint: `context_of(request)` authenticates the caller
    (raising an HTTP error to refuse) and makes the resolvers' context."""

    def __init__(self, schema: strawberry.Schema, context_of: Callable[[Request], object]) -> None:
        self._schema: GraphQLSchema = schema._schema  # the graphql-core schema Strawberry built
        self._executor_class = schema.execution_context_class
        self._context_of = context_of
        self._prepare = lru_cache(maxsize=DOCUMENT_CACHE_SIZE)(self._parse_and_validate)
        self._ide = get_graphql_ide_html(graphql_ide="graphiql")

    async def endpoint(self, request: Request) -> Response:
        if request.method == "GET" and "query" not in request.query_params:
            if "text/html" in request.headers.get("accept", ""):
                return HTMLResponse(self._ide)  # the page holds no data: no key needed
            return PlainTextResponse("No GraphQL query found in the request", status_code=400)
        context = self._context_of(request)
        try:
            operation = await _operation_of(request)
            result = await self._run(operation, context, read_only=request.method == "GET")
        except RequestError as error:
            return PlainTextResponse(str(error), status_code=400)
        return _json_response(result)

    async def _run(
        self, operation: Operation, context: object, *, read_only: bool
    ) -> ExecutionResult:
        prepared = self._prepare(operation.query)
        if prepared.document is None:
            return ExecutionResult(None, list(prepared.errors))
        if read_only:
            ast = get_operation_ast(prepared.document, operation.operation_name)
            if ast is not None and ast.operation is OperationType.MUTATION:
                raise RequestError("mutations are not allowed when using GET")
        result = execute(
            self._schema,
            prepared.document,
            context_value=context,
            variable_values=operation.variables,
            operation_name=operation.operation_name,
            executor_class=self._executor_class,
        )
        return await result if isawaitable(result) else result

    def _parse_and_validate(self, query: str) -> Prepared:
        try:
            document = parse(query)
        except GraphQLError as error:
            return Prepared(None, (error,))
        errors = validate(self._schema, document)
        return Prepared(None, tuple(errors)) if errors else Prepared(document, ())


async def _operation_of(request: Request) -> Operation:
    """The query, variables and operation name from a GET's parameters or a POST's JSON."""
    if request.method == "GET":
        params = request.query_params
        raw_variables = params.get("variables")
        try:
            variables = json.loads(raw_variables) if raw_variables else None
        except ValueError as error:
            raise RequestError("Unable to parse the variables as JSON") from error
        payload: object = {
            "query": params.get("query"),
            "variables": variables,
            "operationName": params.get("operationName"),
        }
    else:
        content_type = request.headers.get("content-type", "application/json")
        if not content_type.startswith("application/json"):
            raise RequestError(f"Unsupported content type {content_type!r}: send application/json")
        try:
            payload = json.loads(await request.body())
        except ValueError as error:
            raise RequestError("Unable to parse request body as JSON") from error
    return _operation_from(payload)


def _operation_from(payload: object) -> Operation:
    if not isinstance(payload, dict):
        raise RequestError("The request body must be a JSON object")
    query, variables, name = (
        payload.get("query"),
        payload.get("variables"),
        payload.get("operationName"),
    )
    if not isinstance(query, str) or not query:
        raise RequestError("No GraphQL query found in the request")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(
            "The GraphQL operation's `variables` must be an object or null, if provided."
        )
    if name is not None and not isinstance(name, str):
        raise RequestError("`operationName` must be a string or null, if provided.")
    return Operation(query, variables, name)


def _json_response(result: ExecutionResult) -> Response:
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [_client_error(error).formatted for error in result.errors]
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content, media_type="application/json")


def _client_error(error: GraphQLError) -> GraphQLError:
    """The error as the client sees it: errors the schema does not foresee (a graph
    failure, a bug) may hold internals, so they are logged whole and masked."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        log.debug("GraphQL error: %s", error.message)
        return error
    log.error("GraphQL field %s failed: %s", error.path, error.message, exc_info=original)
    return GraphQLError(
        INTERNAL_ERROR, nodes=error.nodes, source=error.source, positions=error.positions,
        path=error.path,
    )  # fmt: skip
