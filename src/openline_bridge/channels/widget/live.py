"""The live WebSocket ``/api/v1/conversation/live`` (docs/protocol.md §7).

Sequence: accept, wait for the ``auth`` frame (10 s, else 4408; anything else 4400), check the token (4401),
the ``Origin`` against the token's widget (4403) and the visitor's connection cap (4429), subscribe to the
fan-out, send ``ready`` and the backlog after ``after``, then live events, pings every heartbeat interval,
and close with 4408 after two silent intervals. Client frames over 4 KiB close with 1009.

A live connection lasts as long as the visitor's page and is idle nearly all that time, so everything it
keeps is paid once per visitor online. The bridge's ASGI entry (:mod:`openline_bridge.server`) therefore
hands this path's WebSocket scopes straight to :func:`serve`, past the application's middleware, routing
and dependency layers, none of which serves a purpose here: :func:`serve` speaks raw ASGI and answers
every failure itself. An idle connection is one coroutine reading the client under the heartbeat deadline
and one task waiting on the fan-out. The router only documents the URL and answers a plain GET.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.types import Receive, Scope, Send

from openline_bridge.channels.base import ChannelConversation
from openline_bridge.channels.feed import ConversationFeed
from openline_bridge.channels.widget.auth import authorize_live
from openline_bridge.channels.widget.channel import WidgetChannel
from openline_bridge.channels.widget.context import WidgetApi
from openline_bridge.channels.widget.errors import WidgetError, refusal
from openline_bridge.channels.widget.responses import JsonReply
from openline_bridge.fanout.base import FanoutError, Subscription
from openline_bridge.logging import get_logger
from openline_bridge.store.conversation_events import last_seq
from openline_bridge.store.visitor_tokens import TokenAccess

__all__ = ["LIVE_PATH", "MAX_CLIENT_FRAME_BYTES", "is_live", "router", "serve"]

_log = get_logger(__name__)

router = APIRouter()

LIVE_PATH = "/api/v1/conversation/live"
MAX_CLIENT_FRAME_BYTES = 4096  # protocol §7.3
_CLOSE_FOR_CODE = {"invalid_token": 4401, "forbidden_origin": 4403, "rate_limited": 4429}


class _Refused(Exception):
    """The connection ends with an error frame (when ``code`` is set) and this close code."""

    def __init__(self, close_code: int, code: str | None = None, message: str = "") -> None:
        self.close_code = close_code
        self.code = code
        self.message = message
        super().__init__(f"{close_code} {code}: {message}")


class _Gone(Exception):
    """The client closed the connection."""


class _Connection:
    """One accepted WebSocket over raw ASGI: client frames in, JSON frames out, the time of the last client
    frame, and whether the connection is closed."""

    __slots__ = ("_receive", "_send", "closed", "heard_at")

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self.heard_at = time.monotonic()
        self.closed = False

    async def send(self, frame: dict[str, Any]) -> None:
        # One ASGI send is one whole WebSocket frame, so the reader's pings and pongs and the stream's
        # events need no lock between them.
        await self._send({"type": "websocket.send", "text": orjson.dumps(frame).decode("utf-8")})

    async def receive_frame(self) -> dict[str, Any] | None:
        """The next client frame as a JSON object (None if it is not one); raises on disconnect or size."""
        message = await self._receive()
        if message["type"] == "websocket.disconnect":
            self.closed = True
            raise _Gone
        raw: str | bytes = message.get("text") or message.get("bytes") or b""
        if len(raw.encode("utf-8") if isinstance(raw, str) else raw) > MAX_CLIENT_FRAME_BYTES:
            raise _Refused(1009)
        self.heard_at = time.monotonic()
        try:
            frame = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        return frame if isinstance(frame, dict) else None

    async def close(self, refused: _Refused) -> None:
        """The error frame (when the refusal has a code), then the close; nothing once closed."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(RuntimeError, OSError):
            if refused.code is not None:
                error = {"code": refused.code, "message": refused.message}
                await self.send({"type": "error", "error": error})
            await self._send({"type": "websocket.close", "code": refused.close_code})

    async def end(self, failure: Exception) -> None:
        """Close as ``failure`` calls for; a client that went away reconnects and catches up by seq.
        Called in the ``except`` clause that caught ``failure``: an unexpected one is logged with its
        traceback."""
        if isinstance(failure, _Refused):
            await self.close(failure)
        elif isinstance(failure, FanoutError):
            # The client reconnects and catches up by seq; nothing is lost (fanout.base).
            await self.close(_Refused(1011, "internal_error", "live updates were interrupted"))
        elif not isinstance(failure, (_Gone, RuntimeError, OSError)):
            _log.exception("widget.live_failed")
            await self.close(_Refused(1011, "internal_error", "the bridge failed"))


async def _authenticate(
    api: WidgetApi, connection: _Connection, origin: str | None
) -> tuple[TokenAccess, int]:
    try:
        async with asyncio.timeout(api.auth_timeout_seconds):
            frame = await connection.receive_frame()
    except TimeoutError:
        raise _Refused(4408, "auth_timeout", "no auth frame in time") from None
    after = frame.get("after", 0) if frame is not None else None
    token = frame.get("token") if frame is not None else None
    valid_after = isinstance(after, int) and not isinstance(after, bool) and after >= 0
    if frame is None or frame.get("type") != "auth" or not isinstance(token, str) or not valid_after:
        raise _Refused(4400, "protocol_error", 'the first frame must be {"type": "auth", "token", "after"}')
    assert isinstance(after, int)
    try:
        return await authorize_live(api, token, origin), after
    except WidgetError as exc:
        raise _Refused(_CLOSE_FOR_CODE.get(exc.code, 4400), exc.code, exc.message) from None


async def _read_client(api: WidgetApi, connection: _Connection) -> None:
    """Answer pings, ignore pongs and unknown frames; ping every interval, and a client silent for two
    intervals is gone (protocol §7.3). The heartbeat is a deadline on the read rather than a task of its
    own: an idle connection then costs one waiting task less."""
    next_ping = time.monotonic() + api.heartbeat_seconds
    while True:
        try:
            async with asyncio.timeout(next_ping - time.monotonic()):
                frame = await connection.receive_frame()
        except TimeoutError:
            if time.monotonic() - connection.heard_at > 2 * api.heartbeat_seconds:
                raise _Refused(
                    4408, "heartbeat_timeout", "no frame from the client for two heartbeat intervals"
                ) from None
            await connection.send({"type": "ping"})
            next_ping += api.heartbeat_seconds
            continue
        if frame is not None and frame.get("type") == "ping":
            await connection.send({"type": "pong"})


async def _latest_seq(api: WidgetApi, conversation_id: int) -> int:
    # A function of its own so that no session outlives the read in the long-lived stream's frame.
    async with api.relay.database.read() as session:
        return await last_seq(session, conversation_id)


async def _stream(connection: _Connection, feed: ConversationFeed, subscription: Subscription) -> None:
    """Live events as the fan-out delivers them. A failure closes the connection, which ends the reader."""
    try:
        async for event_text in subscription:
            await feed.publish(event_text)
    except Exception as exc:  # every failure ends the connection; end() logs the unexpected ones
        await connection.end(exc)


async def _live(api: WidgetApi, connection: _Connection, access: TokenAccess, after: int) -> None:
    """Subscribe first, then ``ready`` and the backlog, then live events (protocol §7.2) while reading the
    client; the first of the two to end ends the other."""
    conversation = ChannelConversation(access.conversation_id, access.visitor_id, access.widget_id)
    feed = ConversationFeed(
        api.relay.database, conversation, after, WidgetChannel(api.relay.signer, connection.send)
    )
    async with api.fanout.subscribe(access.conversation_id) as subscription:
        latest = await _latest_seq(api, access.conversation_id)
        heartbeat = int(api.heartbeat_seconds)
        await connection.send({"type": "ready", "last_seq": latest, "heartbeat_interval": heartbeat})
        await feed.catch_up()
        stream = asyncio.create_task(_stream(connection, feed, subscription))
        try:
            await _read_client(api, connection)
        finally:
            stream.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stream


@router.get(
    LIVE_PATH,
    status_code=426,
    tags=["visitor protocol v1"],
    responses={426: {"description": "a plain GET: this URL only speaks WebSocket"}},
)
async def live_description() -> JsonReply:
    """The live connection (protocol §7) is a WebSocket at this URL: send ``{"type": "auth", "token",
    "after"}`` first; receive ``ready``, the events after ``after``, then live events and pings. A plain
    HTTP request is answered ``426 upgrade_required``."""
    return refusal(WidgetError(426, "upgrade_required", "connect with a WebSocket (protocol §7)"))


def _origin(scope: Scope) -> str | None:
    origins: list[bytes] = [value for name, value in scope["headers"] if name == b"origin"]
    return origins[0].decode("latin-1") if origins else None


def is_live(scope: Scope) -> bool:
    """Whether a connection is the live WebSocket: ``path`` without the ``root_path`` a proxy mounted us
    under is the live URL."""
    if scope["type"] != "websocket":
        return False
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    return (path[len(root_path) :] if root_path and path.startswith(root_path) else path) == LIVE_PATH


async def serve(api: WidgetApi, scope: Scope, receive: Receive, send: Send) -> None:
    """The visitor's live connection: authenticate with the first frame, then receive events."""
    origin = _origin(scope)  # before accepting: the server lets go of the handshake headers then
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    connection = _Connection(receive, send)
    try:
        access, after = await _authenticate(api, connection, origin)
        if not api.live_slots.acquire(access.visitor_id, api.limits.live_connections):
            raise _Refused(4429, "rate_limited", "too many live connections")
        try:
            await _live(api, connection, access, after)
        finally:
            api.live_slots.release(access.visitor_id)
    except Exception as exc:  # every failure ends the connection; end() logs the unexpected ones
        await connection.end(exc)
