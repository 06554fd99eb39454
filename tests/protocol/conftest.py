"""Fixtures of the visitor protocol tests: the whole bridge (``create_app``) served by uvicorn on a free
loopback port, on the test's database (SQLite and PostgreSQL), with one installed portal, a line and
its widget allowed on ``https://shop.example``."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from openline_bridge.app import create_app
from openline_bridge.channels.widget import WidgetApi
from openline_bridge.crypto import SecretBox
from openline_bridge.relay.context import Relay
from openline_bridge.relay.views import message_view
from openline_bridge.server import server_config
from openline_bridge.services import Services
from openline_bridge.settings import Settings
from openline_bridge.store import conversations, lines, messages, widgets
from openline_bridge.store.conversation_events import append_event
from openline_bridge.store.database import Database
from openline_bridge.store.messages import NewOperatorMessage
from openline_bridge.store.models import MessageDirection
from openline_bridge.store.portals import PortalRecord
from openline_bridge.store.types import utc_now

SHOP = "https://shop.example"
UPLOAD_LIMIT = 64 * 1024


@dataclass
class Bridge:
    """The running bridge: its URL, app (for its state), an HTTP client, and the widget under test."""

    url: str
    app: FastAPI
    http: httpx.AsyncClient
    widget_key: str
    identity_secret: str
    database: Database

    @property
    def api(self) -> WidgetApi:
        """The visitor API's state (tests tighten its limits and timeouts)."""
        api: WidgetApi = self.app.state.widget_api
        return api

    @property
    def relay(self) -> Relay:
        """The process's relay (the one the routes and the fan-out use)."""
        relay: Relay = self.app.state.relay
        return relay

    async def operator_reply(
        self, conversation_id: str, text: str, bitrix_message_id: int
    ) -> tuple[str, int]:
        """Store an operator message the way the relay does (one transaction, then published to the
        fan-out); returns its id and the seq of its ``message.created`` event."""
        relay = self.relay
        async with relay.notifier.transaction(relay.database) as session:
            conversation_row = int(conversation_id)
            portal_id = await conversations.portal_of(session, conversation_row)
            new = NewOperatorMessage(
                portal_id=portal_id,
                conversation_id=conversation_row,
                direction=MessageDirection.FROM_OPERATOR,
                bitrix_message_id=bitrix_message_id,
                author_bitrix_user_id=1,
                author_name="Operator",
                text=text,
                parsed={"nodes": [{"type": "text", "text": text}]},
            )
            message = await messages.insert_operator_message(session, new, utc_now())
            assert message is not None
            view = await message_view(session, message)
            seq = await append_event(session, conversation_row, "message.created", {"message": view})
            message.created_seq = seq
        return view["id"], seq

    @property
    def live_url(self) -> str:
        """The WebSocket URL."""
        return self.url.replace("http://", "ws://") + "/api/v1/conversation/live"

    async def session(
        self, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """``POST /sessions`` of the test widget from the shop's origin."""
        return await self.http.post(
            f"/api/v1/widgets/{self.widget_key}/sessions",
            json=body or {},
            headers={"Origin": SHOP, **(headers or {})},
        )

    async def visitor(self, body: dict[str, Any] | None = None) -> Visitor:
        """A new visitor session."""
        response = await self.session(body)
        assert response.status_code in (200, 201), response.text
        return Visitor(self, response.json())


@dataclass
class Visitor:
    """One visitor's token and session response, with request helpers that send its token."""

    bridge: Bridge
    reply: dict[str, Any]

    @property
    def conversation_id(self) -> str:
        """The conversation's id from the session response."""
        conversation_id: str = self.reply["conversation"]["id"]
        return conversation_id

    @property
    def token(self) -> str:
        """The bearer token."""
        token: str = self.reply["token"]
        return token

    def headers(self, origin: str | None = SHOP) -> dict[str, str]:
        """``Authorization`` (and ``Origin``) headers of this visitor."""
        headers = {"Authorization": f"Bearer {self.token}"}
        if origin is not None:
            headers["Origin"] = origin
        return headers

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request to ``/api/v1/conversation/<path>`` with this visitor's token."""
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        return await self.bridge.http.request(
            method, f"/api/v1/conversation/{path}", headers=headers, **kwargs
        )

    async def send(self, text: str, client_message_id: str, **body: Any) -> httpx.Response:
        """``POST /messages``."""
        return await self.request(
            "POST", "messages", json={"client_message_id": client_message_id, "text": text, **body}
        )

    async def events(self, after: int = 0, **params: Any) -> dict[str, Any]:
        """``GET /events``, asserted 200."""
        response = await self.request("GET", "events", params={"after": after, **params})
        assert response.status_code == 200, response.text
        page: dict[str, Any] = response.json()
        return page


async def _widget(database: Database, box: SecretBox, portal_id: int) -> tuple[str, str]:
    now = utc_now()
    async with database.transaction() as session:
        line = await lines.ensure(session, portal_id, 1, now)
        widget = await widgets.ensure_for_line(session, box, line.id, now)
        await widgets.set_allowed_origins(session, widget.id, [SHOP, "https://*.shop.example"], now)
        secret = widgets.open_identity_secret(box, widget)
    assert secret is not None
    return widget.public_key, secret


@pytest.fixture
async def bridge(
    settings: Settings, database: Database, installed_portal: PortalRecord, tmp_path: Path
) -> AsyncIterator[Bridge]:
    """The bridge on a free port (no background tasks: nothing here talks to Bitrix24)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    settings = settings.model_copy(
        update={
            "public_url": f"http://127.0.0.1:{port}",
            "max_upload_bytes": UPLOAD_LIMIT,
            "files_dir": tmp_path / "files",
        }
    )
    services = Services.build(settings, database=database)
    key, secret = await _widget(database, services.secret_box, installed_portal.id)
    app = create_app(settings, services=services, run_background=False)
    server = uvicorn.Server(server_config(app, log_level="warning", access_log=False, log_config=None))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        async with asyncio.timeout(15):
            while not server.started:
                if serving.done():
                    serving.result()
                await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=15) as http:
            yield Bridge(f"http://127.0.0.1:{port}", app, http, key, secret, database)
    finally:
        server.should_exit = True
        async with asyncio.timeout(15):
            await serving
        await services.bitrix24.aclose()
        listener.close()
