"""Acknowledgement latency of visitor messages (not a test; prints its figures).

A real ``openline-bridge serve`` process (SQLite in a temporary directory, uvloop + httptools, the worker
off so only the request path is measured) receives ``POST /api/v1/conversation/messages`` at a steady
rate from many visitors; each request stores the message, its event and its outbox job in one
transaction, then answers. The clock runs from sending the request to reading the answer, on an open
loop (requests leave on schedule whether or not earlier ones have returned). Each visitor sends about
one message per second from its own address (``X-Forwarded-For`` from loopback, which uvicorn trusts),
as real visitors would, so the per-visitor and per-IP rate limits stay in force. The client is aiohttp:
httpx's connection pool scans every connection per request, which at this concurrency costs the client
more CPU than the bridge's whole handler and measured the client instead of the bridge.

    .venv/bin/python bench/visitor_ack.py [--rate 300] [--seconds 10] [--visitors 300]

Target: p99 <= 15 ms at 300 msg/s.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _portal import offline_install
from _proc import BIN, free_port, machine, offline_bridge_env, percentile, wait_http
from openline_bridge.crypto import SecretBox
from openline_bridge.store import lines, portals, widgets
from openline_bridge.store.database import Database
from openline_bridge.store.migrate import upgrade
from openline_bridge.store.types import utc_now

SECRET = "bench-secret-key-0123456789abcdefghijkl"  # noqa: S105 -- a throwaway bench database
MEMBER_ID = "bench0000000000000000000000000002"
DOMAIN = "bench.bitrix24.example"
WARM_UP_SECONDS = 1.0


async def prepare(database_path: Path) -> str:
    """A migrated SQLite database with an installed portal, a line and its widget; the widget key."""
    database = Database.connect(f"sqlite+aiosqlite:///{database_path}")
    box = SecretBox(SECRET)
    now = utc_now()
    install = offline_install(MEMBER_ID, DOMAIN, now)
    try:
        await upgrade(database)
        async with database.transaction() as session:
            portal = await portals.upsert_install(session, box, install, now)
            line = await lines.ensure(session, portal.id, 1, now)
            widget = await widgets.ensure_for_line(session, box, line.id, now)
            return widget.public_key
    finally:
        await database.dispose()


def start_bridge(tmp: Path, port: int) -> subprocess.Popen[bytes]:
    """``openline-bridge serve`` on ``port`` over the prepared database."""
    env = offline_bridge_env(tmp, port, f"sqlite:///{tmp / 'bench.db'}", SECRET)
    log = (tmp / "bridge.log").open("wb")
    return subprocess.Popen([str(BIN / "openline-bridge"), "serve"], env=env, stdout=log, stderr=log)


async def open_sessions(
    http: aiohttp.ClientSession, base_url: str, widget_key: str, count: int
) -> list[tuple[str, str]]:
    """``count`` visitors, each with its token and its own client address."""
    visitors = []
    for n in range(count):
        address = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
        async with http.post(
            f"{base_url}/api/v1/widgets/{widget_key}/sessions", json={}, headers={"X-Forwarded-For": address}
        ) as response:
            response.raise_for_status()
            visitors.append(((await response.json())["token"], address))
    return visitors


async def load(
    http: aiohttp.ClientSession, base_url: str, visitors: list[tuple[str, str]], rate: float, seconds: float
) -> tuple[list[float], int]:
    """Send at ``rate`` per second for ``seconds`` (plus a warm-up); latencies after the warm-up, errors."""
    latencies: list[float] = []
    errors = 0
    total = int((seconds + WARM_UP_SECONDS) * rate)
    warm_up = int(WARM_UP_SECONDS * rate)

    async def one(n: int) -> None:
        nonlocal errors
        token, address = visitors[n % len(visitors)]
        started = time.perf_counter()
        try:
            async with http.post(
                f"{base_url}/api/v1/conversation/messages",
                json={"client_message_id": f"bench-{n}", "text": f"Hello, message {n}"},
                headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": address},
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        elapsed = (time.perf_counter() - started) * 1000
        if status != 201:
            errors += 1
        elif n >= warm_up:
            latencies.append(elapsed)

    tasks = []
    begin = time.perf_counter()
    for n in range(total):
        delay = begin + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    return latencies, errors


async def run(rate: float, seconds: float, visitor_count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        widget_key = await prepare(tmp / "bench.db")
        port = free_port()
        bridge = start_bridge(tmp, port)
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz", timeout=30)
            base_url = f"http://127.0.0.1:{port}"
            connector = aiohttp.TCPConnector(limit=500)
            timeout = aiohttp.ClientTimeout(total=30)
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
                visitors = await open_sessions(http, base_url, widget_key, visitor_count)
                latencies, errors = await load(http, base_url, visitors, rate, seconds)
        finally:
            bridge.terminate()
            bridge.wait(20)
    print(f"visitor message acknowledgement, SQLite, {rate:g} msg/s, {seconds:g} s, {visitor_count} visitors")
    print(f"machine: {machine()}")
    print(f"requests measured: {len(latencies)}, refused or failed: {errors}")
    print(
        f"latency ms: p50 {percentile(latencies, 50):.2f}  p90 {percentile(latencies, 90):.2f}  "
        f"p99 {percentile(latencies, 99):.2f}  max {max(latencies, default=float('nan')):.2f}"
    )
    print(f"target p99 <= 15 ms: {'met' if percentile(latencies, 99) <= 15 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=300.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured duration")
    parser.add_argument("--visitors", type=int, default=300, help="distinct visitors (one address each)")
    args = parser.parse_args()
    asyncio.run(run(args.rate, args.seconds, args.visitors))


if __name__ == "__main__":
    main()
