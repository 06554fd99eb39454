"""The messaging relay wired to a real b24-sandbox portal, for file-download and flow tests.

The sandbox posts real connector events to the bridge's own ``POST /b24/events`` (served by uvicorn on
loopback), which verifies and records them in the inbox; the relay's ``MessagingInbox`` applies them and
publishes to the fan-out. Nothing of ``b24sandbox`` is imported.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from tests.bitrix24.sandbox_peer import (
    SandboxProcess,
    install_test_app,
    lookup_secret,
    portal_install,
)
from tests.relay.conftest import Chat, make_chat, serve

from openline_bridge.bitrix24 import methods
from openline_bridge.bitrix24.client import Bitrix24Client
from openline_bridge.bitrix24.ratelimit import RateLimit, build_limiter
from openline_bridge.crypto import SecretBox
from openline_bridge.event_intake import EventIntake
from openline_bridge.fanout.memory import MemoryFanout
from openline_bridge.logging import get_logger
from openline_bridge.relay.context import Relay
from openline_bridge.relay.downloads import OperatorFiles
from openline_bridge.relay.files import FileSigner, FileStore
from openline_bridge.relay.inbox_consumer import MessagingInbox
from openline_bridge.relay.notify import Notifier
from openline_bridge.server import BridgeEntry
from openline_bridge.services import Services
from openline_bridge.settings import Settings
from openline_bridge.store import portals
from openline_bridge.store.database import Database
from openline_bridge.store.tokens import DatabaseTokenStore
from openline_bridge.store.types import utc_now
from openline_bridge.web import events
from openline_bridge.web.direct import DirectRoutes
from openline_bridge.web.errors import install_error_handlers

CONNECTOR = "olbrelaytest"
ICON = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4="


@dataclass
class SandboxBridge:
    """A relay connected to the sandbox portal, with one visitor conversation on line 1."""

    sandbox: SandboxProcess
    control: httpx.AsyncClient
    relay: Relay
    fanout: MemoryFanout
    client: Bitrix24Client
    member_id: str
    chat: Chat
    files: OperatorFiles
    token_override: dict[str, str]  # {"token": ...} makes file downloads use that token instead

    async def visitor_writes(self, text: str) -> None:
        """What the worker does for a visitor message: ``imconnector.send.messages`` with our ids."""
        outcomes = await methods.send_messages(
            self.client.for_portal(self.member_id),
            CONNECTOR,
            1,
            [
                methods.OutgoingMessage(
                    visitor=methods.Visitor(self.chat.external_user_id, name="Anna"),
                    external_chat_id=self.chat.external_chat_id,
                    external_message_id=f"m-test-{datetime.now(UTC).timestamp()}",
                    text=text,
                )
            ],
        )
        assert outcomes[0].success, outcomes

    async def operator_writes(self, text: str, files: list[dict[str, str]] | None = None) -> dict[str, Any]:
        """An operator answers in the sandbox (the control API fires ONIMCONNECTORMESSAGEADD)."""
        body: dict[str, Any] = {
            "line": 1,
            "chat_id": self.chat.external_chat_id,
            "connector": CONNECTOR,
            "text": text,
        }
        if files:
            body["files"] = files
        response = await self.control.post("/operator/messages", json=body)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer


@asynccontextmanager
async def sandbox_bridge(
    sandbox: SandboxProcess, database: Database, settings: Settings, files_dir: Path
) -> AsyncIterator[SandboxBridge]:
    """Install the test app in a reset sandbox, register and activate our connector on line 1, bind the
    message and dialog events to the bridge's ``/b24/events`` and run the relay's inbox consumer until the
    block ends."""
    installed = install_test_app(sandbox)
    box = SecretBox(settings.secret_key.get_secret_value())
    async with database.transaction() as session:
        await portals.upsert_install(session, box, portal_install(installed), utc_now())
        record = await portals.get(session, installed["member_id"])
    tokens = DatabaseTokenStore(database, box)
    limiter = build_limiter(RateLimit(1000, 1000.0))
    fanout = MemoryFanout()
    relay = Relay(
        database,
        Notifier(fanout),
        FileStore(files_dir),
        FileSigner(settings.secret_key.get_secret_value(), settings.public_url),
    )

    token_override: dict[str, str] = {}

    async def access_token(member_id: str) -> str:
        return token_override.get("token") or (await tokens.load(member_id)).access_token

    client = Bitrix24Client(tokens, lookup_secret, limiter)
    services = Services(settings, database, box, tokens, limiter, client, None, get_logger("openline_bridge"))
    app = FastAPI()
    app.state.services = services
    # Until Services wakes the messaging consumer itself, the intake tells it about every event.
    messaging_wakeup = asyncio.Event()
    services._intake = EventIntake(database, box, on_recorded=lambda _names: messaging_wakeup.set())
    install_error_handlers(app)
    app.state.direct_routes = DirectRoutes(app, [events.EVENTS_ROUTE])
    async with (
        client,
        httpx.AsyncClient(base_url=f"{sandbox.base_url}/_sandbox", timeout=10) as control,
        httpx.AsyncClient() as http,
        serve(BridgeEntry(app, "127.0.0.1")) as receiver,
    ):
        caller = client.for_portal(record.member_id)
        await methods.register(
            caller, methods.ConnectorRegistration(CONNECTOR, "Relay test", ICON, f"{receiver}/b24/settings")
        )
        await methods.activate(caller, CONNECTOR, 1, active=True)
        for event in ("OnImConnectorMessageAdd", "OnImConnectorMessageUpdate", "OnImConnectorMessageDelete"):
            await methods.event_bind(caller, event, f"{receiver}/b24/events")
        for event in ("OnImConnectorDialogStart", "OnImConnectorDialogFinish"):
            await methods.event_bind(caller, event, f"{receiver}/b24/events")
        files = OperatorFiles(relay.files, http, access_token, retry_delays=(0.1,))
        consumer = MessagingInbox(relay, files, messaging_wakeup, poll_interval=0.5)
        running = asyncio.create_task(consumer.run())
        try:
            chat = await make_chat(database, record.id)
            yield SandboxBridge(
                sandbox, control, relay, fanout, client, record.member_id, chat, files, token_override
            )
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            await services.intake.close()
