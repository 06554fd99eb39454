"""A bridge wired to a real b24-sandbox subprocess for worker tests: portal installed, connector active on a
line, visitors and conversations created through the store, messages posted through the relay."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from tests.bitrix24.sandbox_peer import (
    SANDBOX_BIN,
    SandboxProcess,
    install_test_app,
    lookup_secret,
    portal_install,
)

from openline_bridge.bitrix24 import methods
from openline_bridge.bitrix24.client import Bitrix24Client
from openline_bridge.bitrix24.ratelimit import PortalRateLimiter, Unlimited
from openline_bridge.crypto import SecretBox
from openline_bridge.fanout.memory import MemoryFanout
from openline_bridge.ids import new_token, token_hash
from openline_bridge.relay.context import Relay
from openline_bridge.relay.files import FileSigner, FileStore
from openline_bridge.relay.notify import Notifier
from openline_bridge.relay.visitor_inbound import accept_message
from openline_bridge.store import conversations, lines, portals, visitors, widgets
from openline_bridge.store.database import Database
from openline_bridge.store.models import Message, MessageStatus, OutboxJob, OutboxStatus
from openline_bridge.store.tokens import DatabaseTokenStore
from openline_bridge.store.types import utc_now
from openline_bridge.worker.config import WorkerConfig
from openline_bridge.worker.runner import Worker

CONNECTOR = "olb_worker_test"
PUBLIC_URL = "http://127.0.0.1:9"
SECRET = "worker-test-secret-key-0123456789abcdefgh"
REGISTRATION = methods.ConnectorRegistration(
    connector_id=CONNECTOR,
    name="Website chat",
    icon_data_image="data:image/svg+xml,%3Csvg%20xmlns%3D%22http://www.w3.org/2000/svg%22/%3E",
    placement_handler=f"{PUBLIC_URL}/b24/placement",
)
FAST = WorkerConfig(
    connector_id=CONNECTOR,
    poll_interval=0.05,
    sweep_interval=0.1,
    backoff_base=0.05,
    backoff_cap=0.4,
    reprobe_interval=0.3,
)


async def wait_until(
    condition: Callable[[], Awaitable[bool]], *, within: float = 30.0, interval: float = 0.1
) -> None:
    """Poll ``condition`` until true; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(interval)


@dataclass
class Bridge:
    """The bridge side of a worker test."""

    database: Database
    sandbox: SandboxProcess
    portal_id: int
    member_id: str
    line_id: int
    bitrix_line_id: int
    widget_id: int
    relay: Relay
    box: SecretBox
    limiter: PortalRateLimiter = field(default_factory=Unlimited)
    clients: list[Bitrix24Client] = field(default_factory=list)

    def client(self) -> Bitrix24Client:
        """A REST client on the bridge's stored tokens (closed by the fixture)."""
        client = Bitrix24Client(DatabaseTokenStore(self.database, self.box), lookup_secret, self.limiter)
        self.clients.append(client)
        return client

    def worker(self, config: WorkerConfig = FAST, **changes: Any) -> Worker:
        """A worker over this bridge."""
        return Worker(
            database=self.database,
            client=self.client(),
            notifier=self.relay.notifier,
            signer=self.relay.signer,
            config=replace(config, **changes),
        )

    @asynccontextmanager
    async def running(self, worker: Worker | None = None) -> AsyncIterator[Worker]:
        """Run a worker for the block's duration, then stop it gracefully (bounded)."""
        worker = worker or self.worker()
        task = asyncio.create_task(worker.run())
        try:
            yield worker
        finally:
            worker.request_stop()
            await asyncio.wait_for(task, timeout=30)

    async def new_conversation(self, name: str | None = None) -> int:
        """A new visitor (optionally named) with its conversation on the line."""
        now = utc_now()
        async with self.database.transaction() as session:
            visitor = await visitors.create_anonymous(session, self.widget_id, token_hash(new_token()), now)
            visitor.name = name
            conversation = await conversations.get_or_create(session, visitor.id, self.line_id, now)
            return conversation.id

    async def post(self, conversation_id: int, text: str, client_message_id: str | None = None) -> int:
        """A visitor message accepted by the relay (message, event and job in one transaction)."""
        posted = await accept_message(self.relay, conversation_id, client_message_id or new_token(9), text)
        return int(posted.message["id"])

    async def statuses(self) -> dict[int, MessageStatus]:
        """Every message's status by id."""
        async with self.database.transaction() as session:
            rows = await session.execute(select(Message.id, Message.status))
            return {message_id: status for message_id, status in rows}

    async def jobs(self) -> list[OutboxJob]:
        """Every outbox job."""
        async with self.database.transaction() as session:
            return list(await session.scalars(select(OutboxJob).order_by(OutboxJob.id)))

    async def all_settled(self) -> bool:
        """No job is pending, running or parked."""
        unfinished = (OutboxStatus.PENDING, OutboxStatus.RUNNING, OutboxStatus.PARKED)
        return not [job for job in await self.jobs() if job.status in unfinished]

    async def arrived(self, conversation_ids: list[int]) -> dict[int, list[str]]:
        """The visitor texts the sandbox holds for each of these conversations, in its order."""
        async with self.database.transaction() as session:
            external = {
                cid: (await conversations.get(session, cid)).external_chat_id for cid in conversation_ids
            }
        texts = self.chat_texts()
        return {cid: texts.get(external[cid], []) for cid in conversation_ids}

    def chat_texts(self) -> dict[str, list[str]]:
        """Visitor message texts per external chat id, in the sandbox's order."""
        out: dict[str, list[str]] = {}
        for chat in self.sandbox.control("GET", "/conversations"):
            if chat["connector"] != CONNECTOR:
                continue
            detail = self.sandbox.control("GET", f"/conversations/{chat['bitrix_chat_id']}")
            texts = [m["text"] for m in detail["messages"] if m["direction"] != "out" and not m["deleted"]]
            out.setdefault(chat["external_chat_id"], []).extend(texts)
        return out

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """REST requests the sandbox received (batch sub-calls excluded)."""
        path = "/calls?limit=10000" + (f"&method={method}" if method else "")
        return [call for call in self.sandbox.control("GET", path)["calls"] if not call["in_batch"]]


async def connect_bridge(database: Database, sandbox: SandboxProcess, files_dir: Path) -> Bridge:
    """Reset the sandbox, install the app, store the portal, register the connector and activate a line."""
    installed = install_test_app(sandbox)
    box = SecretBox(SECRET)
    now = utc_now()
    install = portal_install(installed, scope="imopenlines,imconnector,im")
    async with database.transaction() as session:
        await portals.upsert_install(session, box, install, now)
        await portals.mark_install_finished(session, install.member_id, now)
        portal = await portals.get(session, install.member_id)
    relay = Relay(
        database=database,
        notifier=Notifier(MemoryFanout()),
        files=FileStore(files_dir),
        signer=FileSigner(SECRET, PUBLIC_URL),
    )
    bridge = Bridge(database, sandbox, portal.id, portal.member_id, 0, 0, 0, relay, box)
    caller = bridge.client().for_portal(portal.member_id)
    await methods.register(caller, REGISTRATION)
    bitrix_line = (await methods.open_lines(caller))[0].line
    await methods.activate(caller, CONNECTOR, bitrix_line, active=True)
    async with database.transaction() as session:
        line = await lines.ensure(session, portal.id, bitrix_line, now)
        widget = await widgets.ensure_for_line(session, box, line.id, now)
    bridge.line_id, bridge.bitrix_line_id, bridge.widget_id = line.id, bitrix_line, widget.id
    return bridge


def start_sandbox_at(port: int, state: Path, log: Path) -> SandboxProcess:
    """A sandbox on a given loopback port that restores ``state`` at start and writes it at stop."""
    process = subprocess.Popen(
        [str(SANDBOX_BIN), "serve", "--host", "127.0.0.1", "--port", str(port), "--state", str(state)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    sandbox = SandboxProcess(f"http://127.0.0.1:{port}", port, process)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            sandbox.control("GET", "/limits")
            return sandbox
        except httpx.HTTPError:
            time.sleep(0.1)
    sandbox.stop()
    raise RuntimeError(f"sandbox on port {port} did not start: {log.read_text()[-2000:]}")
