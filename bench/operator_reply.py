"""Latency of an operator reply through the bridge (not a test; prints its figures).

From Bitrix24's event POST to the event reaching a live subscriber: the bridge's real ``POST /b24/events``
(served by uvicorn on loopback) verifies and records ``ONIMCONNECTORMESSAGEADD`` in the inbox, the relay's
inbox consumer stores the message (signature → author, BB-code → rich tree), appends ``message.created``,
enqueues the delivery confirmation, commits and publishes; a fan-out subscriber receives it. One event in
flight at a time, so the figure is latency, not throughput. Target: p99 ≤ 50 ms.

    .venv/bin/python bench/operator_reply.py [--events 1000] [--database-url URL] [--redis-url URL]

SQLite in a temp dir by default; ``--database-url postgresql+asyncpg://…`` uses a fresh schema that is
dropped afterwards; ``--redis-url`` measures through Redis pub/sub instead of the in-process fan-out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import socket
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
import uvicorn
from fastapi import FastAPI

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _database import database_at
from _portal import offline_install, operator_message_event
from _proc import machine, percentile
from openline_bridge.bitrix24.client import Bitrix24Client
from openline_bridge.bitrix24.ratelimit import RateLimit, build_limiter
from openline_bridge.crypto import SecretBox
from openline_bridge.event_intake import EventIntake
from openline_bridge.fanout.base import Fanout
from openline_bridge.fanout.memory import MemoryFanout
from openline_bridge.fanout.redis import RedisFanout
from openline_bridge.ids import new_token, token_hash
from openline_bridge.logging import get_logger
from openline_bridge.relay.context import Relay
from openline_bridge.relay.downloads import OperatorFiles
from openline_bridge.relay.files import FileSigner, FileStore
from openline_bridge.relay.inbox_consumer import MessagingInbox
from openline_bridge.relay.notify import Notifier
from openline_bridge.server import BridgeEntry
from openline_bridge.services import Services
from openline_bridge.settings import Settings
from openline_bridge.store import conversations, lines, portals, visitors
from openline_bridge.store.database import Database
from openline_bridge.store.models import Widget
from openline_bridge.store.tokens import DatabaseTokenStore
from openline_bridge.store.types import utc_now
from openline_bridge.web import events
from openline_bridge.web.direct import DirectRoutes
from openline_bridge.web.errors import install_error_handlers

SECRET = "bench-secret-key-0123456789abcdefghijkl"  # noqa: S105 -- a throwaway bench database
MEMBER_ID = "bench0000000000000000000000000001"
DOMAIN = "bench.bitrix24.example"


async def setup_chat(database: Database, box: SecretBox) -> str:
    """An installed portal with one visitor conversation; returns its external chat id."""
    now = utc_now()
    install = offline_install(MEMBER_ID, DOMAIN, now)
    async with database.transaction() as session:
        portal = await portals.upsert_install(session, box, install, now)
        await portals.mark_install_finished(session, MEMBER_ID, now)
        line = await lines.ensure(session, portal.id, 1, now)
        widget = Widget(line_id=line.id, public_key=new_token(12), allowed_origins=[], look={}, greeting={})
        session.add(widget)
        await session.flush()
        visitor = await visitors.create_anonymous(session, widget.id, token_hash(new_token()), now)
        conversation = await conversations.get_or_create(session, visitor.id, line.id, now)
        return conversation.external_chat_id


def wire_body(chat_id: str, message_id: int) -> str:
    """``ONIMCONNECTORMESSAGEADD`` as Bitrix24 posts it, to the benchmark's portal."""
    return operator_message_event(MEMBER_ID, DOMAIN, chat_id, message_id)


async def run(count: int, database_url: str | None, redis_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        settings = Settings(
            public_url="https://bridge.example",
            secret_key=SECRET,
            b24_client_id="local.bench",
            b24_client_secret="bench-client-secret",  # noqa: S106 -- never used
            data_dir=tmp,
        )
        async with database_at(database_url, tmp) as database:
            box = SecretBox(SECRET)
            chat_id = await setup_chat(database, box)
            tokens = DatabaseTokenStore(database, box)
            limiter = build_limiter(RateLimit(50, 2.0))

            async def no_secret(client_id: str) -> str:
                raise KeyError(client_id)

            client = Bitrix24Client(tokens, no_secret, limiter)
            services = Services(settings, database, box, tokens, limiter, client, None, get_logger("bench"))
            fanout: Fanout = (
                RedisFanout.from_url(redis_url, prefix=f"bench:{secrets.token_hex(4)}:")
                if redis_url
                else MemoryFanout()
            )
            relay = Relay(
                database, Notifier(fanout), FileStore(tmp / "files"), FileSigner(SECRET, settings.public_url)
            )
            app = FastAPI()
            app.state.services = services
            # Until Services wakes the messaging consumer itself, the intake tells it about every event.
            messaging_wakeup = asyncio.Event()
            services._intake = EventIntake(database, box, on_recorded=lambda _names: messaging_wakeup.set())
            install_error_handlers(app)
            app.state.direct_routes = DirectRoutes(app, [events.EVENTS_ROUTE])
            listener = socket.socket()
            listener.bind(("127.0.0.1", 0))
            server = uvicorn.Server(
                uvicorn.Config(
                    BridgeEntry(app, "127.0.0.1"), lifespan="off", log_level="warning", access_log=False
                )
            )
            serving = asyncio.create_task(server.serve(sockets=[listener]))
            while not server.started:  # noqa: ASYNC110 -- uvicorn offers no "started" event
                await asyncio.sleep(0.01)
            async with httpx.AsyncClient(timeout=10) as http:
                files = OperatorFiles(relay.files, http, tokens_access(tokens))
                consumer = asyncio.create_task(MessagingInbox(relay, files, messaging_wakeup).run())
                url = f"http://127.0.0.1:{listener.getsockname()[1]}/b24/events"
                headers = {"Content-Type": "application/x-www-form-urlencoded"}
                conversation_id = await conversation_of(database, chat_id)
                latencies: list[float] = []
                async with fanout.subscribe(conversation_id) as subscription:
                    for n in range(count + 20):  # the first 20 warm up and are not counted
                        body = wire_body(chat_id, 100_000 + n)
                        started = time.perf_counter()
                        # the clock stops when the subscriber has the event, whether or not Bitrix24's
                        # side has read the 200 yet (its network is not the bridge's latency)
                        posting = asyncio.create_task(http.post(url, content=body, headers=headers))
                        async with asyncio.timeout(5):
                            async for item in subscription:
                                if orjson.loads(item)["kind"] == "message.created":
                                    break
                        if n >= 20:
                            latencies.append((time.perf_counter() - started) * 1000)
                        (await posting).raise_for_status()
                consumer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await consumer
            server.should_exit = True
            await serving
            listener.close()
            await services.intake.close()
            await fanout.close()
            await client.aclose()
    backend = "PostgreSQL" if database_url else "SQLite"
    channel = "Redis pub/sub" if redis_url else "in-process fan-out"
    print(f"operator reply: event POST → subscriber, {count} events, {backend}, {channel}")
    print(
        f"  p50 {percentile(latencies, 50):.1f} ms   p99 {percentile(latencies, 99):.1f} ms   "
        f"max {max(latencies):.1f} ms   (target p99 ≤ 50 ms)"
    )
    print(f"  machine: {machine()}")


def tokens_access(tokens: DatabaseTokenStore):  # type: ignore[no-untyped-def]
    async def access_token(member_id: str) -> str:
        return (await tokens.load(member_id)).access_token

    return access_token


async def conversation_of(database: Database, external_chat_id: str) -> int:
    async with database.transaction() as session:
        portal = await portals.get(session, MEMBER_ID)
        found = await conversations.find_by_external_chat(session, portal.id, external_chat_id)
        assert found is not None
        return found.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args()
    asyncio.run(run(args.events, args.database_url, args.redis_url))


if __name__ == "__main__":
    main()
