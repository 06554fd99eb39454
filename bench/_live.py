"""What the live-connection benchmarks share: a prepared database, a real ``openline-bridge serve`` process,
visitor sessions created over REST, live WebSocket clients and the memory figures of a process."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
from sqlalchemy import text

from _portal import offline_install
from _portal import operator_message_event as portal_event
from _proc import BIN, child, offline_bridge_env, wait_http
from openline_bridge.crypto import SecretBox
from openline_bridge.store import lines, portals, widgets
from openline_bridge.store.database import Database
from openline_bridge.store.migrate import upgrade
from openline_bridge.store.types import utc_now

SECRET = "bench-secret-key-0123456789abcdefghijkl"  # noqa: S105 -- a throwaway bench database
MEMBER_ID = "bench0000000000000000000000000003"
DOMAIN = "bench.bitrix24.example"
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class Visitor:
    """A visitor session as the bridge returned it, with the client address it was created from."""

    token: str
    address: str
    conversation_id: int


def raise_open_files(needed: int) -> None:
    """Lift the soft RLIMIT_NOFILE to ``needed`` (bounded by the hard limit); children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if wanted < needed:
        raise SystemExit(f"needs {needed} open files, the hard limit is {hard}")


@contextlib.asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database on the local server (the bridge gets a whole database, having no
    schema setting); dropped afterwards. Yields its ``postgresql+asyncpg://`` URL."""
    name = f"olb_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        finally:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def prepare(database_url: str) -> str:
    """Migrate the database and add an installed portal, its line and the line's widget; the widget key."""
    database = Database.connect(database_url)
    box = SecretBox(SECRET)
    now = utc_now()
    try:
        await upgrade(database)
        async with database.transaction() as session:
            portal = await portals.upsert_install(session, box, offline_install(MEMBER_ID, DOMAIN, now), now)
            await portals.mark_install_finished(session, MEMBER_ID, now)
            line = await lines.ensure(session, portal.id, 1, now)
            widget = await widgets.ensure_for_line(session, box, line.id, now)
            return widget.public_key
    finally:
        await database.dispose()


async def external_chat_ids(database_url: str) -> dict[int, str]:
    """Every conversation's ``chat.id`` toward Bitrix24, by conversation id."""
    database = Database.connect(database_url)
    try:
        async with database.transaction() as session:
            rows = await session.execute(text("SELECT id, external_chat_id FROM conversations"))
            return {int(row[0]): str(row[1]) for row in rows}
    finally:
        await database.dispose()


@contextlib.contextmanager
def bridge(tmp: Path, port: int, database_url: str, redis_url: str | None = None) -> Iterator[int]:
    """``openline-bridge serve`` on ``port`` over the prepared database, the outbox worker and the health
    check off (the portal is not reachable, and no traffic may leave loopback). Yields its pid."""
    env = offline_bridge_env(tmp, port, database_url, SECRET)
    if redis_url is not None:
        env["OLB_REDIS_URL"] = redis_url
    with child([str(BIN / "openline-bridge"), "serve"], env, tmp / "bridge.log", stop_timeout=30) as proc:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60)
        yield proc.pid


def address_of(n: int) -> str:
    """The ``n``-th visitor's client address (``X-Forwarded-For`` from loopback, which uvicorn trusts)."""
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


async def open_sessions(
    http: aiohttp.ClientSession, base_url: str, widget_key: str, count: int, concurrency: int = 16
) -> list[Visitor]:
    """``count`` new visitors through ``POST /api/v1/widgets/{key}/sessions``, each from its own address
    so the per-IP session limit (protocol §2.4) stays in force without throttling the set-up."""
    found: list[Visitor | None] = [None] * count
    numbers = iter(range(count))

    async def creator() -> None:
        for n in numbers:
            address = address_of(n)
            async with http.post(
                f"{base_url}/api/v1/widgets/{widget_key}/sessions",
                json={},
                headers={"X-Forwarded-For": address},
            ) as response:
                response.raise_for_status()
                body = await response.json()
            found[n] = Visitor(body["token"], address, int(body["conversation"]["id"]))

    await asyncio.gather(*(creator() for _ in range(concurrency)))
    return [visitor for visitor in found if visitor is not None]


def operator_message_event(chat_id: str, message_id: int) -> str:
    """``ONIMCONNECTORMESSAGEADD`` for one operator message to the benchmark's portal."""
    return portal_event(MEMBER_ID, DOMAIN, chat_id, message_id)


OnEvent = Callable[[int, dict[str, Any]], None]


class LiveClient:
    """One visitor's live connection: authenticates, answers the bridge's pings, hands events over."""

    def __init__(self, visitor: Visitor, on_event: OnEvent | None = None) -> None:
        self.visitor = visitor
        self.pings = 0
        self.closed_with: int | None = None
        self._on_event = on_event
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    async def connect(self, http: aiohttp.ClientSession, live_url: str) -> None:
        """Open the WebSocket, send ``auth`` and wait for ``ready`` (protocol §7.2)."""
        ws = await http.ws_connect(
            live_url, headers={"X-Forwarded-For": self.visitor.address}, autoping=True, compress=15
        )
        await ws.send_str(orjson.dumps({"type": "auth", "token": self.visitor.token, "after": 0}).decode())
        ready = orjson.loads(await ws.receive_str(timeout=30))
        if ready.get("type") != "ready":
            raise RuntimeError(f"live connection refused: {ready}")
        self._ws = ws
        self._reader = asyncio.create_task(self._read(ws))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            frame = orjson.loads(message.data)
            if frame["type"] == "ping":
                self.pings += 1
                await ws.send_str('{"type":"pong"}')
            elif frame["type"] == "event" and self._on_event is not None:
                self._on_event(self.visitor.conversation_id, frame["event"])
        self.closed_with = ws.close_code

    @property
    def open(self) -> bool:
        """Whether the connection is still up."""
        return self._ws is not None and not self._ws.closed

    async def close(self) -> None:
        """Close the connection and wait for the reader to end."""
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


async def connect_all(
    http: aiohttp.ClientSession, live_url: str, clients: list[LiveClient], concurrency: int = 50
) -> float:
    """Connect every client, ``concurrency`` handshakes at a time; the seconds it took."""
    pending = iter(clients)
    started = time.perf_counter()

    async def connector() -> None:
        for client in pending:
            await client.connect(http, live_url)

    await asyncio.gather(*(connector() for _ in range(concurrency)))
    return time.perf_counter() - started


@contextlib.asynccontextmanager
async def http_client() -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp session without a connection cap (every live connection holds one of its connections)."""
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:
        yield http


@dataclass(frozen=True)
class Memory:
    """A process's memory in KiB: resident (VmRSS), proportional (Pss) and unique (private pages)."""

    rss: int
    pss: int | None
    uss: int | None


def memory_of(pid: int) -> Memory:
    """Read /proc/PID/status and, where the kernel has it, /proc/PID/smaps_rollup."""
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    fields: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            name, _, rest = line.partition(":")
            parts = rest.split()
            if parts and parts[0].isdigit():
                fields[name] = int(parts[0])
    pss = fields.get("Pss")
    private = [fields.get("Private_Clean"), fields.get("Private_Dirty")]
    uss = None if None in private else sum(value for value in private if value is not None)
    return Memory(rss, pss, uss)
