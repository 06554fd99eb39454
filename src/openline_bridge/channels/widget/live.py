"""The live WebSocket ``/api/v1/conversation/live`` (docs/protocol.md §7).

Sequence: accept, wait for the ``auth`` frame (10 s, else 4408; anything else 4400), check the token (4401),
the ``Origin`` against the token's widget (4403) and the visitor's connection cap (4429), subscribe to the
fan-out, send ``ready`` and the backlog after ``after``, then live events, pings every heartbeat interval,
and close with 4408 after two silent intervals. Client frames over 4 KiB close with 1009.

:class:`LiveEndpoint` serves the WebSocket; the router only documents the URL and answers a plain GET.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from openline_bridge.channels.widget.auth import authorize
from openline_bridge.channels.widget.channel import WidgetChannel
from openline_bridge.channels.widget.context import WidgetApi, get_widget_api
from openline_bridge.channels.widget.errors import WidgetError, refusal
from openline_bridge.channels.widget.responses import JsonReply
from openline_bridge.fanout.base import FanoutError
from openline_bridge.logging import get_logger
from openline_bridge.store.conversation_events import last_seq
from openline_bridge.store.visitor_tokens import TokenAccess

__all__ = ["LIVE_PATH", "MAX_CLIENT_FRAME_BYTES", "LiveEndpoint", "router"]

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


class _Connection:
    """One accepted WebSocket: serialised sends and the time of the last client frame."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.heard_at = time.monotonic()
        self._lock = asyncio.Lock()

    async def send(self, frame: dict[str, Any]) -> None:
        async with self._lock:
            await self.websocket.send_text(orjson.dumps(frame).decode("utf-8"))

    async def receive_frame(self) -> dict[str, Any] | None:
        """The next client frame as a JSON object (None if it is not one); raises on disconnect or size."""
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        raw: str | bytes = message.get("text") or message.get("bytes") or b""
        if len(raw.encode("utf-8") if isinstance(raw, str) else raw) > MAX_CLIENT_FRAME_BYTES:
            raise _Refused(1009)
        self.heard_at = time.monotonic()
        try:
            frame = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        return frame if isinstance(frame, dict) else None


async def _authenticate(api: WidgetApi, connection: _Connection) -> tuple[TokenAccess, int]:
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
        return await authorize(api, connection.websocket, token), after
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
    async with api.relay.database.transaction() as session:
        return await last_seq(session, conversation_id)


async def _stream(api: WidgetApi, connection: _Connection, access: TokenAccess, after: int) -> None:
    """Subscribe first, then ``ready`` and the backlog, then live events (protocol §7.2)."""
    channel = WidgetChannel(api.relay, access.conversation_id, after, connection.send)
    try:
        async with api.fanout.subscribe(access.conversation_id) as subscription:
            latest = await _latest_seq(api, access.conversation_id)
            heartbeat = int(api.heartbeat_seconds)
            await connection.send({"type": "ready", "last_seq": latest, "heartbeat_interval": heartbeat})
            await channel.catch_up()
            async for event_text in subscription:
                await channel.publish(event_text)
    except FanoutError as exc:
        # The client reconnects and catches up by seq; nothing is lost (fanout.base).
        raise _Refused(1011, "internal_error", "live updates were interrupted") from exc


async def _first_to_finish(*jobs: Coroutine[Any, Any, None]) -> None:
    """Run the jobs until one ends; cancel the others; re-raise the first one's exception."""
    tasks = [asyncio.create_task(job) for job in jobs]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    for task in done:
        task.result()


async def _close(websocket: WebSocket, refused: _Refused) -> None:
    if websocket.client_state != WebSocketState.CONNECTED:
        return
    with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
        if refused.code is not None:
            error = {"code": refused.code, "message": refused.message}
            await websocket.send_text(orjson.dumps({"type": "error", "error": error}).decode("utf-8"))
        await websocket.close(refused.close_code)


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


async def live(websocket: WebSocket) -> None:
    """The visitor's live connection: authenticate with the first frame, then receive events."""
    api = get_widget_api(websocket)
    await websocket.accept()
    connection = _Connection(websocket)
    access: TokenAccess | None = None
    try:
        access, after = await _authenticate(api, connection)
        if not api.live_slots.acquire(access.visitor_id, api.limits.live_connections):
            access = None
            raise _Refused(4429, "rate_limited", "too many live connections")
        await _first_to_finish(_read_client(api, connection), _stream(api, connection, access, after))
    except _Refused as refused:
        await _close(websocket, refused)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the client went away; it reconnects and catches up by seq
    except Exception:
        _log.exception("widget.live_failed")
        await _close(websocket, _Refused(1011, "internal_error", "the bridge failed"))
    finally:
        if access is not None:
            api.live_slots.release(access.visitor_id)


def _route_path(scope: Scope) -> str:
    """The path the router would match: ``path`` without the ``root_path`` a proxy mounted us under."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    return path[len(root_path) :] if root_path and path.startswith(root_path) else path


class LiveEndpoint:
    """ASGI middleware serving the live WebSocket ahead of the application's general stack.

    A live connection lasts as long as the visitor's page and is idle nearly all that time, so every
    coroutine frame it keeps suspended is paid once per visitor online. The routing, dependency and
    exception layers a REST request passes through would add about a third to an idle connection's memory, and
    none of them serves a purpose here: :func:`live` answers every failure itself and the other
    middleware pass WebSockets through untouched. Install it outermost (``add_middleware`` last).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and _route_path(scope) == LIVE_PATH:
            await live(WebSocket(scope, receive, send))
            return
        await self.app(scope, receive, send)
