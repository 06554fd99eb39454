"""How the bridge is served: the ASGI entry uvicorn calls and uvicorn's configuration.

``openline-bridge serve`` and the tests both build their server with :func:`server_config`, so the tests
exercise the WebSocket protocol and the entry production runs.

The entry sends the live WebSocket (docs/protocol.md §7) straight to its endpoint and everything else to
the FastAPI application (see :mod:`openline_bridge.channels.widget.live` for why). uvicorn's own
``X-Forwarded-For``/``X-Forwarded-Proto`` handling would sit above both and stay suspended for a
connection's whole life, so the entry applies it itself: around the application as before, and to a live
connection's scope once, before the connection is served.
"""

from __future__ import annotations

import os
from typing import Any

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from openline_bridge.channels.widget import live
from openline_bridge.web.websocket import websocket_protocol

__all__ = ["BridgeEntry", "server_config"]

# uvicorn's own setting and default, so a deployment declares its trusted proxies as it always has
FORWARDED_ALLOW_IPS_VARIABLE = "FORWARDED_ALLOW_IPS"
_LOOPBACK = "127.0.0.1,::1"


def _proxy_headers(app: ASGIApp, trusted_hosts: str) -> ASGIApp:
    # uvicorn types ASGI with TypedDicts and Starlette with mappings; both describe the same interface.
    middleware: ASGIApp = ProxyHeadersMiddleware(app, trusted_hosts)  # type: ignore[arg-type, assignment]
    return middleware


async def _scope_rewritten(scope: Scope, receive: Receive, send: Send) -> None:
    """The application behind the live path's proxy-headers step: the rewritten scope is all it is for."""


class BridgeEntry:
    """The ASGI callable uvicorn serves: live WebSockets to :func:`live.serve`, the rest to the application,
    both with the client address and scheme a trusted proxy forwarded."""

    def __init__(self, app: FastAPI, forwarded_allow_ips: str) -> None:
        self.app = app
        self._application = _proxy_headers(app, forwarded_allow_ips)
        self._forwarded = _proxy_headers(_scope_rewritten, forwarded_allow_ips)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if live.is_live(scope):
            await self._forwarded(scope, receive, send)
            await live.serve(self.app.state.widget_api, scope, receive, send)
            return
        await self._application(scope, receive, send)


def server_config(app: FastAPI, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration for ``app`` behind :class:`BridgeEntry`; ``options`` are further
    ``uvicorn.Config`` arguments (host, port, logging)."""
    trusted = os.environ.get(FORWARDED_ALLOW_IPS_VARIABLE, _LOOPBACK)
    return uvicorn.Config(
        BridgeEntry(app, trusted),
        proxy_headers=False,  # applied by BridgeEntry
        ws=websocket_protocol(),
        # Live frames are small JSON; a deflate context costs each browser connection about 40 KB for
        # the connection's whole life, more than the rest of an idle connection together.
        ws_per_message_deflate=False,
        **options,
    )
