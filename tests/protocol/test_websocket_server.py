"""The server side of the live WebSocket: the lean uvicorn protocol (web/websocket.py) and the ASGI entry
(server.py).

The protocol subclass relies on internals of the pinned uvicorn and websockets; the first tests fail
loudly when those change, so an upgrade is a deliberate review of web/websocket.py, not a silent leak or
breakage.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import socket
from collections.abc import AsyncIterator
from importlib.metadata import version
from typing import Any

import pytest
import uvicorn
import websockets
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from openline_bridge.channels.widget import live
from openline_bridge.server import BridgeEntry, server_config
from openline_bridge.web.websocket import VERIFIED_VERSIONS, LeanWebSocketProtocol, websocket_protocol

WAIT = 5.0


def test_the_pinned_versions_whose_internals_the_protocol_relies_on() -> None:
    # On an upgrade: re-check every attribute and call web/websocket.py depends on, then move the pins.
    assert {name: version(name) for name in VERIFIED_VERSIONS} == VERIFIED_VERSIONS
    assert websocket_protocol() is LeanWebSocketProtocol


def test_other_releases_get_uvicorns_own_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(VERIFIED_VERSIONS, "uvicorn", "0.0.1")
    assert websocket_protocol() == "websockets-sansio"


def test_uvicorn_uses_only_what_the_replacements_implement() -> None:
    source = inspect.getsource(WebSocketsSansIOProtocol)
    assert set(re.findall(r"self\.queue\.(\w+)", source)) == {"put_nowait", "get", "empty"}
    assert set(re.findall(r"self\.writable\.(\w+)", source)) == {"set", "clear", "wait"}
    assert "self.request = event" in source
    assert "self.response = self.conn.accept(event)" in source
    assert '"headers": headers,' in source


class _Echo:
    """A WebSocket application that reads a header before accepting, then echoes text frames."""

    def __init__(self) -> None:
        self.origin: str | None = None
        self.scope: Scope | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            return
        self.scope = scope
        self.origin = dict(scope["headers"]).get(b"origin", b"").decode()
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") == "close":
                await send({"type": "websocket.close", "code": 4000})
                return
            await send({"type": "websocket.send", "text": message.get("text", "")})


@pytest.fixture
async def echo_server() -> AsyncIterator[tuple[str, _Echo, uvicorn.Server]]:
    app = _Echo()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, ws=LeanWebSocketProtocol, log_level="warning", log_config=None)
    running = uvicorn.Server(config)
    serving = asyncio.create_task(running.serve(sockets=[listener]))
    try:
        async with asyncio.timeout(WAIT):
            while not running.started:  # noqa: ASYNC110 -- uvicorn offers only this flag, no event
                await asyncio.sleep(0.01)
        yield f"ws://127.0.0.1:{port}/", app, running
    finally:
        running.should_exit = True
        async with asyncio.timeout(WAIT):
            await serving
        listener.close()


async def test_frames_flow_and_the_handshake_is_released_once_accepted(
    echo_server: tuple[str, _Echo, uvicorn.Server],
) -> None:
    url, app, running = echo_server
    async with connect(url, origin=websockets.Origin("https://shop.example")) as socket_:
        for text in ("one", "two", "x" * 100_000):
            await socket_.send(text)
            async with asyncio.timeout(WAIT):
                assert await socket_.recv() == text
        (protocol,) = [c for c in running.server_state.connections if isinstance(c, LeanWebSocketProtocol)]
        assert app.origin == "https://shop.example"  # read before accepting
        assert app.scope is not None and app.scope["headers"] == []
        assert list(protocol.request.headers.raw_items()) == []
        assert list(protocol.response.headers.raw_items()) == []
        await socket_.send("close")
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(WAIT):
                await socket_.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000


async def test_the_entry_applies_forwarded_headers_to_a_live_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served: list[Scope] = []

    async def fake_serve(api: Any, scope: Scope, receive: Receive, send: Send) -> None:
        served.append(dict(scope))

    monkeypatch.setattr(live, "serve", fake_serve)
    app = FastAPI()
    app.state.widget_api = None
    entry = BridgeEntry(app, "127.0.0.1")

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        pass

    for client, expected in ((("127.0.0.1", 5000), ("203.0.113.9", 0)), (("198.51.100.1", 5000), None)):
        scope = {
            "type": "websocket",
            "path": live.LIVE_PATH,
            "root_path": "",
            "scheme": "ws",
            "client": client,
            "headers": [(b"x-forwarded-for", b"203.0.113.9"), (b"x-forwarded-proto", b"https")],
        }
        await entry(scope, receive, send)
        forwarded = served.pop()
        if expected is None:  # not from a trusted proxy: nothing rewritten
            assert (forwarded["client"], forwarded["scheme"]) == (client, "ws")
        else:
            assert (forwarded["client"], forwarded["scheme"]) == (expected, "wss")


def test_serve_and_the_tests_share_one_configuration() -> None:
    config = server_config(FastAPI())
    assert config.ws is LeanWebSocketProtocol
    assert isinstance(config.app, BridgeEntry)
    assert not config.proxy_headers  # the entry applies them
    assert not config.ws_per_message_deflate
