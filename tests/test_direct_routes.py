"""Direct routes (``web.direct``): served by ``server.BridgeEntry`` ahead of the application, with the body
limit, the 405 and 500 answers of the error envelope, and their place in ``/openapi.json``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from starlette.responses import JSONResponse, Response
from starlette.types import Message

from openline_bridge.server import BridgeEntry
from openline_bridge.web.direct import (
    DirectRequest,
    DirectRoute,
    DirectRoutes,
    document,
    json_body,
    json_reply,
)
from openline_bridge.web.errors import error_response


class Ping(BaseModel):
    word: str


class Pong(BaseModel):
    echo: str
    seen_by: str


async def echo(request: DirectRequest) -> Response:
    ping = Ping.model_validate_json(request.body)
    return JSONResponse({"echo": ping.word, "seen_by": request.connection.app.state.name})


async def explode(request: DirectRequest) -> Response:
    raise RuntimeError("a bug in a handler")


def too_large() -> Response:
    return error_response(413, "payload_too_large", "too big")


def route(path: str, handler: Callable[[DirectRequest], Awaitable[Response]]) -> DirectRoute:
    return DirectRoute(
        method="POST",
        path=path,
        handler=handler,
        body_limit=64,
        too_large=too_large,
        operation={
            "summary": "Ping",
            "requestBody": json_body(Ping),
            "responses": {"200": json_reply(Pong, "ok")},
        },
        models=(Ping, Pong),
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.state.name = "the application"

    @app.get("/elsewhere")
    async def elsewhere() -> dict[str, str]:
        return {"served_by": "FastAPI"}

    app.state.direct_routes = DirectRoutes(app, [route("/ping", echo), route("/explode", explode)])
    document(app, app.state.direct_routes)
    transport = httpx.ASGITransport(app=BridgeEntry(app, "127.0.0.1"))
    async with httpx.AsyncClient(transport=transport, base_url="http://bridge.test") as client:
        yield client


async def test_a_direct_route_reaches_the_application_state(http: httpx.AsyncClient) -> None:
    answer = await http.post("/ping", json={"word": "hi"})
    assert answer.json() == {"echo": "hi", "seen_by": "the application"}
    assert (await http.get("/elsewhere")).json() == {"served_by": "FastAPI"}


async def test_a_body_over_the_limit_gets_the_routes_answer_declared_or_streamed(
    http: httpx.AsyncClient,
) -> None:
    body = b'{"word": "' + b"x" * 100 + b'"}'

    async def streamed() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 16):
            yield body[start : start + 16]

    for content in (body, streamed()):
        answer = await http.post("/ping", content=content)
        assert (answer.status_code, answer.json()) == (
            413,
            {"error": {"code": "payload_too_large", "message": "too big"}},
        )


async def test_another_method_is_405_with_allow(http: httpx.AsyncClient) -> None:
    answer = await http.get("/ping")
    assert (answer.status_code, answer.json()["error"]["code"]) == (405, "method_not_allowed")
    assert answer.headers["allow"] == "POST"


async def test_a_failing_handler_is_a_500_envelope_without_details(http: httpx.AsyncClient) -> None:
    answer = await http.post("/explode", json={})
    assert answer.status_code == 500
    assert answer.json() == {
        "error": {"code": "internal_error", "message": "the bridge failed to handle this request"}
    }
    assert "a bug" not in answer.text


async def test_direct_routes_are_in_the_openapi_document(http: httpx.AsyncClient) -> None:
    schema = (await http.get("/openapi.json")).json()
    assert set(schema["paths"]) == {"/elsewhere", "/ping", "/explode"}
    ping = schema["paths"]["/ping"]["post"]
    assert ping["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Ping"
    }
    assert schema["components"]["schemas"]["Pong"]["required"] == ["echo", "seen_by"]


async def test_a_body_cut_off_by_a_disconnect_is_not_handled() -> None:
    handled: list[bytes] = []

    async def record(request: DirectRequest) -> Response:
        handled.append(request.body)
        return JSONResponse({})

    app = FastAPI()
    routes = DirectRoutes(app, [route("/ping", record)])
    incoming: list[Message] = [
        {"type": "http.request", "body": b'{"word": "tru', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/ping", "headers": []}
    await routes(scope, receive, send)
    assert (handled, sent) == ([], [])
    incoming[:] = [{"type": "http.request", "body": b'{"word": "whole"}', "more_body": False}]
    await routes(scope, receive, send)
    assert handled == [b'{"word": "whole"}']
    assert sent[0]["status"] == 200
