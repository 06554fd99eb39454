"""The whole bridge (``create_app`` with its lifespan and background tasks) on a real loopback port, next
to a real b24-sandbox subprocess, for the lifecycle and flow tests.

The bridge runs in uvicorn inside the test's event loop, on the test's database (SQLite file or an
isolated PostgreSQL schema); the sandbox is reached over HTTP only. Helpers here build the sandbox app
whose install URL is the bridge's ``/b24/install`` and wait (bounded) for asynchronous outcomes.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import uvicorn
from sqlalchemy import func, select

from openline_bridge.app import create_app
from openline_bridge.server import server_config
from openline_bridge.services import Services
from openline_bridge.settings import Settings
from openline_bridge.store.database import Database
from openline_bridge.store.models import InboxEvent

T = TypeVar("T")

BRIDGE_EVENTS = (
    "ONIMCONNECTORMESSAGEADD",
    "ONIMCONNECTORMESSAGEUPDATE",
    "ONIMCONNECTORMESSAGEDELETE",
    "ONIMCONNECTORSTATUSDELETE",
    "ONIMCONNECTORLINEDELETE",
    "ONIMCONNECTORDIALOGSTART",
    "ONIMCONNECTORDIALOGFINISH",
    "ONAPPUNINSTALL",
)


@dataclass
class RunningBridge:
    """The bridge under test: base URL, its services and an HTTP client to it."""

    url: str
    settings: Settings
    services: Services
    http: httpx.AsyncClient

    @property
    def events_url(self) -> str:
        """Where every binding must point."""
        return f"{self.url}/b24/events"


@asynccontextmanager
async def run_bridge(
    settings: Settings,
    database: Database,
    *,
    sandbox_url: str,
    transport: httpx.AsyncBaseTransport | None = None,
    health_check_interval: float = 3600.0,
) -> AsyncIterator[RunningBridge]:
    """Serve ``create_app`` on a free loopback port until the block ends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    settings = settings.model_copy(
        update={
            "public_url": f"http://127.0.0.1:{port}",
            "b24_js_url": f"{sandbox_url}/bx24.js",
            "health_check_interval": health_check_interval,
            "rate_limit_burst": 1000,
            "rate_limit_per_second": 100.0,
        }
    )
    services = Services.build(settings, database=database, transport=transport)
    app = create_app(settings, services=services)
    server = uvicorn.Server(server_config(app, log_level="warning", access_log=False, log_config=None))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        async with asyncio.timeout(15):
            while not server.started:
                if serving.done():
                    serving.result()
                    raise RuntimeError("the bridge stopped during start-up")
                await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=15) as http:
            yield RunningBridge(f"http://127.0.0.1:{port}", settings, services, http)
    finally:
        server.should_exit = True
        async with asyncio.timeout(15):
            await serving
        await services.bitrix24.aclose()
        listener.close()


async def create_sandbox_app(
    control: httpx.AsyncClient, bridge: RunningBridge, *, api_only: bool = True
) -> dict[str, Any]:
    """Reset the sandbox portal and register the bridge's app (its client id/secret, its URLs)."""
    (await control.post("/reset")).raise_for_status()
    app = bridge.settings.apps[0]
    response = await control.post(
        "/apps",
        json={
            "client_id": app.client_id,
            "client_secret": app.client_secret.get_secret_value(),
            "name": "openline-bridge",
            "install_url": f"{bridge.url}/b24/install",
            "handler_url": f"{bridge.url}/b24/app",
            "scope": "imopenlines,imconnector,im,placement",
            "api_only": api_only,
        },
    )
    response.raise_for_status()
    created: dict[str, Any] = response.json()
    return created


async def install(control: httpx.AsyncClient, client_id: str) -> dict[str, Any]:
    """Install through the sandbox (it posts to the bridge's install URL) and return its answer."""
    response = await control.post(f"/apps/{client_id}/install", json={})
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


async def bindings_of(control: httpx.AsyncClient, client_id: str) -> list[tuple[str, str]]:
    """``(event, handler)`` of every binding the sandbox holds for the app, sorted."""
    rows = (await control.get("/events/bindings")).json()["bindings"]
    return sorted((row["event"], row["handler"]) for row in rows if row["client_id"] == client_id)


async def rest(installed: Mapping[str, Any], method: str, params: Mapping[str, Any]) -> Any:
    """Call a sandbox REST method with the installer's token from the install answer."""
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            f"{installed['client_endpoint']}{method}.json", json={**params, "auth": installed["access_token"]}
        )
    body = response.json()
    if "error" in body:
        raise AssertionError(f"{method} failed: {body}")
    return body["result"]


async def wait_for(probe: Callable[[], Awaitable[T | None]], *, within: float = 10.0) -> T:
    """Poll ``probe`` until it returns something other than None or False (bounded in time)."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.05)


async def inbox_count(database: Database) -> int:
    """How many inbox rows exist."""
    async with database.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(InboxEvent))
    return int(count or 0)


def php_form(fields: Mapping[str, Any], prefix: str = "") -> str:
    """Encode nested data with PHP bracket keys, as Bitrix24 posts events (contract §7.3).

    Written here independently of the bridge's own encoder, so the tests do not confirm it by itself.
    """
    parts: list[str] = []
    for key, value in fields.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, Mapping):
            parts.append(php_form(value, name))
        elif isinstance(value, list):
            parts.append(php_form({str(index): item for index, item in enumerate(value)}, name))
        else:
            parts.append(f"{quote(name, safe='[]')}={quote(str(value), safe='')}")
    return "&".join(part for part in parts if part)


def event_body(installed: Mapping[str, Any], event: str, data: Any, **auth_changes: str) -> str:
    """A form-encoded event as the portal of ``installed`` would send it (token-less auth block)."""
    auth = {
        "domain": installed["domain"],
        "client_endpoint": installed["client_endpoint"],
        "server_endpoint": installed["server_endpoint"],
        "member_id": installed["member_id"],
        "application_token": installed["application_token"],
        **auth_changes,
    }
    return php_form({"event": event, "event_handler_id": "7", "data": data, "ts": "1773759161", "auth": auth})
