"""The WebSocket protocol the bridge runs under uvicorn: uvicorn's websockets-sansio implementation, made
lighter per connection.

Nearly every WebSocket the bridge holds is an idle visitor connection (docs/protocol.md §7) that lasts as
long as the visitor's page, so whatever a connection keeps is paid once per visitor online. uvicorn's
protocol keeps the whole handshake for the connection's life (the parsed request and the response with
their headers, the scope's header list) and an ``asyncio.Queue`` and an ``asyncio.Event`` with four deques
between them: together about a third of an idle connection. :class:`LeanWebSocketProtocol` releases the
handshake headers once the application has accepted (an application reads the headers it needs before
accepting; the live endpoint does) and replaces the queue and the event with what the protocol uses of
them. Framing, the closing handshake and keepalive pings stay uvicorn's and websockets' own.

This relies on uvicorn's and websockets' internals (the protocol's ``queue``, ``writable``, ``request``,
``response`` and ``scope`` attributes and the methods it calls on them), which is acceptable only because
both are pinned in requirements/constraints.txt; tests/protocol/test_websocket_server.py fails when the
pinned versions or those internals change. :func:`websocket_protocol` falls back to uvicorn's own protocol
when the bridge is installed beside other versions (without the constraints file).
"""

from __future__ import annotations

import asyncio
from importlib.metadata import version
from typing import Any

from uvicorn._types import ASGIReceiveEvent, ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

__all__ = ["VERIFIED_VERSIONS", "ConcurrentReceiveError", "LeanWebSocketProtocol", "websocket_protocol"]

# the releases whose internals LeanWebSocketProtocol was written and tested against
VERIFIED_VERSIONS = {"uvicorn": "0.54.0", "websockets": "17.4"}


class ConcurrentReceiveError(RuntimeError):
    """An application awaited ``receive()`` while another ``receive()`` of the connection was waiting."""


class _Inbox:
    """The messages for the application: the part of ``asyncio.Queue`` the protocol uses (``put_nowait``,
    ``get``, ``empty``) for the single reader an ASGI application is. An idle connection holds an empty
    list and one future instead of a queue's three deques and an event."""

    __slots__ = ("_messages", "_waiter")

    def __init__(self) -> None:
        self._messages: list[ASGIReceiveEvent] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, message: ASGIReceiveEvent) -> None:
        self._messages.append(message)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def empty(self) -> bool:
        return not self._messages

    async def get(self) -> ASGIReceiveEvent:
        while not self._messages:
            if self._waiter is not None:
                raise ConcurrentReceiveError("receive() is already being awaited on this WebSocket")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._messages.pop(0)


class _Writable:
    """The transport's write flow control: the part of ``asyncio.Event`` the protocol uses (``set``,
    ``clear``, ``wait``), holding nothing while the transport accepts writes, which is nearly always."""

    __slots__ = ("_paused", "_resumed")

    def __init__(self) -> None:
        self._paused = False
        self._resumed: asyncio.Future[None] | None = None

    def set(self) -> None:
        self._paused = False
        if self._resumed is not None:
            if not self._resumed.done():
                self._resumed.set_result(None)
            self._resumed = None

    def clear(self) -> None:
        self._paused = True

    async def wait(self) -> None:
        while self._paused:
            if self._resumed is None:
                self._resumed = asyncio.get_running_loop().create_future()
            # shielded: a cancelled sender must not cancel the future other senders wait on
            await asyncio.shield(self._resumed)


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol without the per-connection state it no longer needs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Duck-typed: the protocol calls only the methods these implement (tests/protocol checks it).
        self.queue = _Inbox()  # type: ignore[assignment]
        self.writable = _Writable()  # type: ignore[assignment]

    async def send(self, message: ASGISendEvent) -> None:
        """Send as uvicorn does; once the application has accepted, let go of the handshake headers."""
        accepting = message["type"] == "websocket.accept" and not self.handshake_complete
        await super().send(message)
        if accepting and self.handshake_complete:
            self._release_handshake()

    def _release_handshake(self) -> None:
        # The request object itself stays referenced by websockets' parser, so its headers are emptied
        # rather than the attribute dropped; the scope gets a new list (an application may hold the old).
        self.request.headers.clear()
        self.response.headers.clear()
        self.scope["headers"] = []


def websocket_protocol() -> type[WebSocketsSansIOProtocol] | str:
    """:class:`LeanWebSocketProtocol` beside the verified uvicorn and websockets releases, otherwise
    uvicorn's own websockets-sansio protocol (correct everywhere, heavier per idle connection)."""
    if all(version(package) == release for package, release in VERIFIED_VERSIONS.items()):
        return LeanWebSocketProtocol
    return "websockets-sansio"
