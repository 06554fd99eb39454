"""Origins and CORS of the visitor API (docs/protocol.md §2.3).

:func:`origin_permitted` is the one origin rule (REST and WebSocket). :class:`WidgetCors` is the ASGI
middleware answering preflights and adding the CORS headers: a response carries
``Access-Control-Allow-Origin: <origin>`` unless the request was refused as ``forbidden_origin``.
Responses given before the widget is known (``invalid_token``, a validation error, an IP rate limit) are
readable too, so the client can act on the code; they carry nothing of any conversation.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openline_bridge.channels.widget.context import get_widget_api
from openline_bridge.channels.widget.errors import WidgetError, forbidden_origin, refusal
from openline_bridge.core.origins import origin_allowed
from openline_bridge.store import widgets

__all__ = ["REFUSED_STATE", "WidgetCors", "origin_permitted", "require_origin"]

SESSIONS_PREFIX = "/api/v1/widgets/"
CONVERSATION_PREFIX = "/api/v1/conversation/"
REFUSED_STATE = "widget_origin_refused"

_PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, PATCH, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
}


def origin_permitted(allowed: Sequence[str], origin: str | None) -> bool:
    """Whether a request with this ``Origin`` header may use a widget with these allowed origins.

    No header (a mobile app, a server) is not subject to the check; ``*`` allows any website.
    """
    if origin is None:
        return True
    return "*" in allowed or origin_allowed(allowed, origin)


def require_origin(connection: HTTPConnection, allowed: Sequence[str]) -> None:
    """Refuse with ``forbidden_origin`` (and mark the refusal for the CORS middleware) unless permitted."""
    if not origin_permitted(allowed, connection.headers.get("origin")):
        connection.scope.setdefault("state", {})[REFUSED_STATE] = True
        raise forbidden_origin()


def _cors_headers(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": "Retry-After"}


class WidgetCors:
    """CORS for ``/api/v1/widgets/*`` and ``/api/v1/conversation/*``; other paths pass through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith((SESSIONS_PREFIX, CONVERSATION_PREFIX)):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if scope["method"] == "OPTIONS" and origin and "access-control-request-method" in headers:
            response = await self._preflight(scope, origin)
            await response(scope, receive, send)
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                response_headers.add_vary_header("Origin")
                if origin and not scope.get("state", {}).get(REFUSED_STATE):
                    response_headers.update(_cors_headers(origin))
            await send(message)

        await self.app(scope, receive, with_cors)

    async def _preflight(self, scope: Scope, origin: str) -> ASGIApp:
        if scope["path"].startswith(SESSIONS_PREFIX):
            # The widget is in the path, so the preflight itself is checked (protocol §2.3).
            key = scope["path"][len(SESSIONS_PREFIX) :].split("/", 1)[0]
            api = get_widget_api(HTTPConnection(scope))
            async with api.relay.database.read() as session:
                widget = await widgets.find_by_public_key(session, key)
            if widget is None:
                return refusal(WidgetError(404, "not_found", "unknown widget"))
            if not origin_permitted(widget.allowed_origins, origin):
                return refusal(forbidden_origin())
        # protocol §2.3: conversation preflights cannot carry the token; the real request is checked.
        return Response(
            status_code=204, headers={**_cors_headers(origin), **_PREFLIGHT_HEADERS, "Vary": "Origin"}
        )
