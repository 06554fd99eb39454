"""How the bridge is served: the ASGI entry uvicorn calls and uvicorn's configuration.

``openline-bridge serve`` and the tests both build their server with :func:`server_config`, so the tests
exercise the WebSocket protocol and the entry production runs.

The entry sends the live WebSocket (docs/protocol.md §7) straight to its endpoint (see
:mod:`openline_bridge.channels.widget.live` for why), the application's direct routes (Bitrix24's events
and visitors' messages, :mod:`openline_bridge.web.direct`) to their handlers behind the access log and the
widget's CORS, and everything else to the FastAPI application. uvicorn's own
``X-Forwarded-For``/``X-Forwarded-Proto`` handling would sit above all of them and stay suspended for a
live connection's whole life, so the entry applies it itself: around the application and the direct
routes, and to a live connection's scope once, before the connection is served.
"""

from __future__ import annotations

import gc
import os
import socket
from typing import Any

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from openline_bridge.channels.widget import WidgetCors, live
from openline_bridge.web.direct import DirectRoutes
from openline_bridge.web.middleware import AccessLog
from openline_bridge.web.websocket import websocket_protocol

__all__ = ["BridgeEntry", "BridgeServer", "server_config"]

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
    """The ASGI callable uvicorn serves: live WebSockets to :func:`live.serve`, direct routes to their
    handlers, the rest to the application, all with the client address and scheme a trusted proxy
    forwarded."""

    def __init__(self, app: FastAPI, forwarded_allow_ips: str) -> None:
        self.app = app
        self._application = _proxy_headers(app, forwarded_allow_ips)
        self._forwarded = _proxy_headers(_scope_rewritten, forwarded_allow_ips)
        routes: DirectRoutes | None = getattr(app.state, "direct_routes", None)
        self._direct: tuple[DirectRoutes, ASGIApp] | None = None
        if routes is not None:
            self._direct = (routes, _proxy_headers(AccessLog(WidgetCors(routes)), forwarded_allow_ips))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if live.is_live(scope):
            await self._forwarded(scope, receive, send)
            await live.serve(self.app.state.widget_api, scope, receive, send)
            return
        if self._direct is not None and self._direct[0].handles(scope):
            await self._direct[1](scope, receive, send)
            return
        await self._application(scope, receive, send)


class BridgeServer(uvicorn.Server):
    """uvicorn's server, which once started takes what the process built to live for its whole life out of
    the garbage collector's sight.

    A full collection walks every tracked object: after start-up that is the application, SQLAlchemy's and
    pydantic's machinery and the imported modules, several hundred thousand objects, and each walk held
    the event loop for 100-400 ms, the worst latency a visitor message or an event saw under load
    (bench/visitor_ack.py). Frozen objects are never walked again; what requests create is collected
    as before.
    """

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start serving, then collect once and freeze what survived."""
        await super().startup(sockets=sockets)
        if self.started:
            gc.collect()
            gc.freeze()


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
