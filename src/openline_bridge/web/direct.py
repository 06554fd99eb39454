"""The hot endpoints, served as plain ASGI ahead of the FastAPI application.

Two requests make up most of a busy bridge's traffic: Bitrix24's event posts and visitors' messages. Through
FastAPI each spent about 0.9 ms of CPU before its handler ran (a dozen middleware layers, dependency
solving, request parsing; profiled under bench/visitor_ack.py at 300 messages/s), as much as storing the
message itself, and on one event loop that cost is everyone's latency. A :class:`DirectRoute` is one method
and path with a handler that takes the whole body and returns a response; :class:`DirectRoutes` serves them
for :class:`~openline_bridge.server.BridgeEntry` behind the same proxy-header, access-log and CORS steps as
the application, with the same error envelope, and :func:`document` adds them to ``/openapi.json``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from openline_bridge.logging import get_logger
from openline_bridge.web.errors import error_response

__all__ = ["DirectRequest", "DirectRoute", "DirectRoutes", "document", "json_body", "json_reply"]

_log = get_logger(__name__)

_SCHEMAS = "#/components/schemas/"


@dataclass(frozen=True)
class DirectRequest:
    """A request as a direct handler gets it: the connection (headers, client, ``app``) and the whole body."""

    connection: HTTPConnection
    body: bytes


@dataclass(frozen=True)
class DirectRoute:
    """One endpoint served directly.

    ``too_large`` answers a body over ``body_limit`` (each API has its own envelope). ``operation`` is the
    route's OpenAPI operation object; ``models`` are the pydantic models it refers to under
    ``#/components/schemas/``.
    """

    method: str
    path: str
    handler: Callable[[DirectRequest], Awaitable[Response]]
    body_limit: int
    too_large: Callable[[], Response]
    operation: Mapping[str, Any]
    models: tuple[type[BaseModel], ...] = field(default=())


class _ClientGone(Exception):
    """The client disconnected before its body was complete: nothing is handled, nothing answered."""


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # a truncated body must not be handled as a whole one
            raise _ClientGone
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class DirectRoutes:
    """The ASGI application of the direct routes of ``app``: :meth:`handles` says which requests are its."""

    def __init__(self, app: FastAPI, routes: Iterable[DirectRoute]) -> None:
        self._app = app
        self._routes: dict[str, dict[str, DirectRoute]] = {}
        for route in routes:
            self._routes.setdefault(route.path, {})[route.method] = route

    @property
    def routes(self) -> list[DirectRoute]:
        """Every route, for the OpenAPI document."""
        return [route for methods in self._routes.values() for route in methods.values()]

    def handles(self, scope: Scope) -> bool:
        """Whether the request is for a direct route's path (any method: a wrong one is answered 405 here;
        a CORS preflight is answered by the CORS step in front)."""
        return scope["type"] == "http" and scope["path"] in self._routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        methods = self._routes[scope["path"]]
        route = methods.get(scope["method"])
        if route is None:
            response: Response = error_response(405, "method_not_allowed", "Method Not Allowed")
            response.headers["Allow"] = ", ".join(sorted(methods))
            await response(scope, receive, send)
            return
        # what Starlette sets for the application's routes: handlers reach app.state as they would there
        scope["app"] = self._app
        declared = _declared_length(scope)
        try:
            too_large = declared is not None and declared > route.body_limit
            body = None if too_large else await _read_body(receive, route.body_limit)
        except _ClientGone:
            return
        if body is None:
            response = route.too_large()
        else:
            try:
                response = await route.handler(DirectRequest(HTTPConnection(scope), body))
            except Exception:  # the same last resort as the application's: logged, never sent
                _log.exception("http.unhandled_error", method=scope["method"], path=scope["path"])
                response = error_response(500, "internal_error", "the bridge failed to handle this request")
        await response(scope, receive, send)


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """An OpenAPI ``requestBody`` of a JSON ``model``."""
    schema = {"$ref": _SCHEMAS + model.__name__}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def json_reply(model: type[BaseModel], description: str) -> dict[str, Any]:
    """An OpenAPI response of a JSON ``model``."""
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _SCHEMAS + model.__name__}}},
    }


def _add_models(schema: dict[str, Any], models: Iterable[type[BaseModel]]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in models:
        described = model.model_json_schema(ref_template=_SCHEMAS + "{model}")
        for name, nested in described.pop("$defs", {}).items():
            components.setdefault(name, nested)
        components.setdefault(model.__name__, described)


def document(app: FastAPI, routes: DirectRoutes) -> None:
    """Make ``app``'s OpenAPI document describe the direct routes beside its own."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for route in routes.routes:
                schema["paths"].setdefault(route.path, {})[route.method.lower()] = dict(route.operation)
                _add_models(schema, route.models)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema
