"""ASGI middleware of the bridge: request body limits and structured access logs.

Both are plain ASGI (no ``BaseHTTPMiddleware``), so they add microseconds, not a task per request, to
``/b24/events``, whose answer must leave within milliseconds (pitfall P7).
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openline_bridge.logging import get_logger
from openline_bridge.web.errors import ApiError, error_response

__all__ = ["AccessLog", "BodyLimit"]

_log = get_logger("openline_bridge.access")


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"the request body exceeds {limit} bytes")


class BodyLimit:
    """Refuse bodies over a per-path-prefix limit with 413 ``payload_too_large``.

    A declared ``Content-Length`` over the limit is refused before reading; a body that grows past it
    while streaming (chunked) raises :class:`ApiError` from ``receive``, which the app's error handler
    turns into the same 413. Nothing behind the limit sees a partial body.
    """

    def __init__(self, app: ASGIApp, limits: Mapping[str, int]) -> None:
        self.app = app
        # Longest prefix first, so a specific path can override its parent's limit.
        self._limits = sorted(limits.items(), key=lambda item: len(item[0]), reverse=True)

    def _limit_for(self, path: str) -> int | None:
        return next((limit for prefix, limit in self._limits if path.startswith(prefix)), None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope["path"])
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            refused = _too_large(limit)
            await error_response(refused.status, refused.code, refused.message)(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large(limit)
            return message

        await self.app(scope, limited_receive, send)


class AccessLog:
    """One ``http.request`` log line per request: method, path (never the query), status, duration.

    The query string is left out on purpose: Bitrix24 pages carry ``APP_SID`` and some clients put
    tokens there; the path alone is safe to keep.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None

        async def logged_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, logged_send)
        finally:
            client = scope.get("client")
            _log.info(
                "http.request",
                method=scope["method"],
                path=scope["path"],
                status=status if status is not None else 500,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                client=client[0] if client else None,
            )
