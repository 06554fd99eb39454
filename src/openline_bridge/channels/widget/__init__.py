"""The website widget channel: the visitor protocol v1 (docs/protocol.md) over REST and a WebSocket,
and the widget's JavaScript bundles.

``install(app, api)`` adds everything to the bridge application: the routes, the CORS middleware and
the visitor API's state. Build ``api`` with :func:`build_widget_api` on the process's relay and fan-out.
"""

from __future__ import annotations

from fastapi import FastAPI

from openline_bridge.channels.widget import live, routes, static
from openline_bridge.channels.widget.context import WidgetApi, build_widget_api
from openline_bridge.channels.widget.origins import WidgetCors
from openline_bridge.channels.widget.routes import POST_MESSAGE_ROUTE

__all__ = ["POST_MESSAGE_ROUTE", "WidgetApi", "WidgetCors", "build_widget_api", "include_routes"]


def include_routes(app: FastAPI) -> None:
    """Add the widget's routes and CORS middleware; ``app.state.widget_api`` must be set before the
    first request (the application's lifespan does it). The live WebSocket and :data:`POST_MESSAGE_ROUTE`
    are served by the bridge's ASGI entry (:mod:`openline_bridge.server`), ahead of the application."""
    app.include_router(routes.router)
    app.include_router(live.router)
    app.include_router(static.router)
    app.add_middleware(WidgetCors)
