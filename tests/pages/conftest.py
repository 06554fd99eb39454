"""Fixtures of the Bitrix24 page tests: a real sandbox portal, the bridge on a real loopback port.

The bridge (``create_app`` with its middleware and error handlers, background tasks off) runs in
uvicorn inside the test's event loop, so it shares the test's database engine on SQLite or
PostgreSQL through real ``Services``. The sandbox is a subprocess
reset for every test: an app is created and installed through its control API, so the tokens the tests
post are real sandbox tokens, and the connector is registered with the bridge's ``/b24/settings`` as
its placement handler.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from tests.bitrix24.sandbox_peer import SandboxProcess
from tests.pages.harness import Bridge, Portal, store_install

from openline_bridge.app import create_app
from openline_bridge.bitrix24.client import Bitrix24Client
from openline_bridge.bitrix24.ratelimit import RateLimit, build_limiter
from openline_bridge.crypto import SecretBox
from openline_bridge.logging import get_logger
from openline_bridge.server import server_config
from openline_bridge.services import Services
from openline_bridge.settings import Settings
from openline_bridge.store.database import Database
from openline_bridge.store.tokens import DatabaseTokenStore

CONNECTOR_ICON = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4="


@pytest.fixture
async def bridge(database: Database, settings: Settings) -> AsyncIterator[Bridge]:
    """The bridge app with real services on a free loopback port, served by uvicorn in this loop."""
    secret_box = SecretBox(settings.secret_key.get_secret_value())
    token_store = DatabaseTokenStore(database, secret_box)
    limiter = build_limiter(RateLimit(settings.rate_limit_burst, settings.rate_limit_per_second))

    async def client_secret(client_id: str) -> str:
        found = settings.find_app(client_id)
        if found is None:
            raise KeyError(client_id)
        return found.client_secret.get_secret_value()

    services = Services(
        settings=settings,
        database=database,
        secret_box=secret_box,
        token_store=token_store,
        limiter=limiter,
        bitrix24=Bitrix24Client(token_store, client_secret, limiter),
        redis=None,
        log=get_logger("openline_bridge"),
    )
    app = create_app(settings, services=services, run_background=False)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(server_config(app, lifespan="on", log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    async with asyncio.timeout(10):
        while not server.started:  # noqa: ASYNC110 -- uvicorn offers only this flag, no event
            await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            yield Bridge(f"http://127.0.0.1:{port}", services, http)
    finally:
        server.should_exit = True
        async with asyncio.timeout(10):
            await serving
        await services.bitrix24.aclose()
        listener.close()


@pytest.fixture
async def portal(
    sandbox: SandboxProcess, bridge: Bridge, database: Database, settings: Settings
) -> AsyncIterator[Portal]:
    """A fresh sandbox portal with our app installed, connector registered, StatusDelete bound."""
    app = settings.apps[0]
    async with httpx.AsyncClient(base_url=f"{sandbox.base_url}/_sandbox", timeout=10) as control:
        (await control.post("/reset")).raise_for_status()
        created = await control.post(
            "/apps",
            json={
                "client_id": app.client_id,
                "client_secret": app.client_secret.get_secret_value(),
                "scope": "imopenlines,imconnector,im,placement",
                "handler_url": f"{bridge.url}/b24/app",
            },
        )
        created.raise_for_status()
        installed = (await control.post(f"/apps/{app.client_id}/install", json={})).json()
        other_line = (await control.post("/lines", json={"name": "Second line"})).json()["id"]
        record = await store_install(database, bridge.services.secret_box, installed, app.client_id)
        found = Portal(control, installed, record, settings.connector_id, other_line)
        await found.rest(
            "imconnector.register",
            {
                "ID": settings.connector_id,
                "NAME": "Website chat",
                "ICON": {"DATA_IMAGE": CONNECTOR_ICON},
                "PLACEMENT_HANDLER": f"{bridge.url}/b24/settings",
            },
        )
        await found.rest(
            "event.bind", {"event": "OnImConnectorStatusDelete", "handler": f"{bridge.url}/b24/events"}
        )
        yield found
