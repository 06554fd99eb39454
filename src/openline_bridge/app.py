"""The bridge's ASGI application: routes, middleware, error envelope and the process lifespan.

``create_app(settings)`` builds a FastAPI app (its OpenAPI schema is served at ``/openapi.json``). On
start-up the lifespan builds :class:`~openline_bridge.services.Services`, applies the database
migrations, and starts the background tasks (lifecycle inbox processor, messaging inbox consumer,
outbox worker, periodic health check); on shutdown it
cancels them and closes every connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from openline_bridge import __version__
from openline_bridge.bitrix24 import app_page, placement
from openline_bridge.channels import files_route, widget
from openline_bridge.health import HealthMonitor
from openline_bridge.inbox_processor import InboxProcessor
from openline_bridge.logging import get_logger
from openline_bridge.relay.wiring import Messaging, build_messaging
from openline_bridge.services import Services
from openline_bridge.settings import Settings
from openline_bridge.web import health, install
from openline_bridge.web.direct import DirectRoutes, document
from openline_bridge.web.errors import install_error_handlers
from openline_bridge.web.events import EVENTS_BODY_LIMIT, EVENTS_ROUTE
from openline_bridge.web.middleware import AccessLog, BodyLimit
from openline_bridge.worker.service import build_worker

__all__ = ["create_app"]

_log = get_logger(__name__)

# Bitrix24 posts events, install callbacks and frame pages to /b24/*: small forms (contract §7.3, §10).
_BODY_LIMITS = {"/b24/": EVENTS_BODY_LIMIT}


def _background(services: Services, messaging: Messaging) -> list[Coroutine[Any, Any, None]]:
    tasks = [
        InboxProcessor(services).run(),
        messaging.consumer(services.messaging_wakeup).run(),
        HealthMonitor(services, services.settings.health_check_interval).run(),
    ]
    if services.settings.serve_worker:
        # the outbox worker, publishing status ticks through this process's fan-out; cancelling it at
        # shutdown lets in-flight rounds finish and frees the leases
        tasks.append(build_worker(services, messaging.relay).run())
    return tasks


def create_app(
    settings: Settings, *, services: Services | None = None, run_background: bool = True
) -> FastAPI:
    """The bridge application for ``settings``.

    ``services`` are built at start-up unless given (tests pass their own, and close them themselves);
    ``run_background=False`` leaves the background tasks off.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        running = services or Services.build(settings)
        await running.start()
        app.state.services = running
        messaging = build_messaging(settings, running.database, running.redis, running.token_store)
        app.state.relay = messaging.relay
        app.state.widget_api = widget.build_widget_api(
            messaging.relay,
            messaging.fanout,
            running.secret_box,
            settings.public_url,
            redis=running.redis,
        )
        jobs = _background(running, messaging) if run_background else []
        tasks = [asyncio.create_task(job) for job in jobs]
        _log.info("bridge.started", public_url=settings.public_url, background_tasks=len(tasks))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await messaging.close()
            if owned:
                await running.close()
            else:
                await running.intake.close()
            _log.info("bridge.stopped")

    app = FastAPI(
        title="openline-bridge",
        version=__version__,
        description="Website chat ↔ Bitrix24 Open Channels bridge.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limits=_BODY_LIMITS)
    app.add_middleware(AccessLog)
    for module in (health, install, placement, app_page, files_route):
        app.include_router(module.router)
    widget.include_routes(app)
    # the two busiest routes, which server.BridgeEntry serves ahead of the application (web.direct)
    app.state.direct_routes = DirectRoutes(app, [EVENTS_ROUTE, widget.POST_MESSAGE_ROUTE])
    document(app, app.state.direct_routes)
    return app
