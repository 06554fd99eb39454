"""Fixtures of the relay tests: a relay over the test database (SQLite and PostgreSQL), an in-memory
fan-out, a file store in the test's temp dir, and one visitor with a conversation on an installed portal."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import func, select
from starlette.types import ASGIApp

from openline_bridge.fanout.memory import MemoryFanout
from openline_bridge.ids import new_token, token_hash
from openline_bridge.relay.context import Relay
from openline_bridge.relay.files import FilePolicy, FileSigner, FileStore
from openline_bridge.relay.notify import Notifier
from openline_bridge.store import conversations, lines, visitors
from openline_bridge.store.database import Database
from openline_bridge.store.models import ConversationEvent, Message, OutboxJob, Widget
from openline_bridge.store.portals import PortalRecord
from openline_bridge.store.types import utc_now

TEST_SECRET = "relay-test-secret-key-0123456789abcdef"
PUBLIC_URL = "https://bridge.example"


@dataclass(frozen=True)
class Chat:
    """The ids of the test conversation."""

    portal_id: int
    line_id: int
    widget_id: int
    visitor_id: int
    conversation_id: int
    external_chat_id: str
    external_user_id: str


@pytest.fixture
def fanout() -> MemoryFanout:
    """An in-process fan-out."""
    return MemoryFanout()


@pytest.fixture
def relay(database: Database, fanout: MemoryFanout, tmp_path: Path) -> Relay:
    """A relay on the test database with small file limits."""
    return Relay(
        database=database,
        notifier=Notifier(fanout),
        files=FileStore(tmp_path / "files"),
        signer=FileSigner(TEST_SECRET, PUBLIC_URL),
        file_policy=FilePolicy(max_bytes=64 * 1024, per_message=3),
    )


async def make_chat(
    database: Database, portal_id: int, bitrix_line_id: int = 1, name: str | None = "Anna"
) -> Chat:
    """A line, widget, visitor and conversation on a portal."""
    now = utc_now()
    async with database.transaction() as session:
        line = await lines.ensure(session, portal_id, bitrix_line_id, now)
        widget = Widget(line_id=line.id, public_key=new_token(12), allowed_origins=[], look={}, greeting={})
        session.add(widget)
        await session.flush()
        visitor = await visitors.create_anonymous(session, widget.id, token_hash(new_token()), now)
        visitor.name = name
        conversation = await conversations.get_or_create(session, visitor.id, line.id, now)
        return Chat(
            portal_id,
            line.id,
            widget.id,
            visitor.id,
            conversation.id,
            conversation.external_chat_id,
            visitor.external_user_id,
        )


@pytest.fixture
async def chat(database: Database, installed_portal: PortalRecord) -> Chat:
    """One visitor's conversation on the installed portal's line 1."""
    return await make_chat(database, installed_portal.id)


@dataclass(frozen=True)
class Counts:
    """How many rows of the messaging tables exist."""

    messages: int
    events: int
    jobs: int


async def counts(database: Database) -> Counts:
    """Count messages, conversation events and outbox jobs."""
    async with database.transaction() as session:
        return Counts(
            await session.scalar(select(func.count()).select_from(Message)) or 0,
            await session.scalar(select(func.count()).select_from(ConversationEvent)) or 0,
            await session.scalar(select(func.count()).select_from(OutboxJob)) or 0,
        )


async def job_kinds(database: Database) -> list[str]:
    """Kinds of every outbox job, oldest first."""
    async with database.transaction() as session:
        return list(await session.scalars(select(OutboxJob.kind).order_by(OutboxJob.id)))


@pytest.fixture
async def collected(fanout: MemoryFanout, chat: Chat) -> AsyncIterator[list[str]]:
    """Event JSON published for the test conversation, collected by a live subscriber."""
    received: list[str] = []
    async with fanout.subscribe(chat.conversation_id) as subscription:

        async def pump() -> None:
            async for item in subscription:
                received.append(item)

        task = asyncio.create_task(pump())
        yield received
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@asynccontextmanager
async def serve(app: ASGIApp) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port in this event loop; yields its base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        async with asyncio.timeout(10):
            while not server.started:  # noqa: ASYNC110 -- uvicorn offers no "started" event
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        async with asyncio.timeout(10):
            await serving
        listener.close()
