"""Latency of operator messages to many live visitors (not a test; prints its figures).

A real ``openline-bridge serve`` process (uvloop + httptools, the outbox worker off) with many visitors
online, each in its own conversation with a live WebSocket (``GET /api/v1/conversation/live``,
docs/protocol.md §7). Then every visitor gets one operator message: Bitrix24's ``ONIMCONNECTORMESSAGEADD``
posted form-encoded to the bridge's ``POST /b24/events``, which records it in the inbox; the messaging
consumer stores the message, appends ``message.created``, commits and publishes it on the fan-out; the
visitor's connection sends the frame. The clock runs from the moment the event was due to be posted to the
frame arriving on that visitor's WebSocket. The events leave on an open loop at a fixed rate (``--rate``,
each at its scheduled time whether or not earlier ones were answered; ``--rate 0`` posts them all at
once), after 20 warm-up events one at a time that are not counted. The visitors are created through the
real ``POST /api/v1/widgets/{key}/sessions`` from distinct addresses (``X-Forwarded-For`` from loopback);
their connections live in a second process, so the poster and the receivers do not share an event loop;
both read the same system-wide monotonic clock. All traffic stays on 127.0.0.1.

    .venv/bin/python bench/live_broadcast.py [--visitors 1000] [--rate 25] [--postgres [--redis-url URL]]

SQLite in a temp dir with the in-process fan-out by default; ``--postgres`` uses a fresh database on the
local PostgreSQL (dropped afterwards) and Redis pub/sub for the fan-out. 25 events/s is a busy contact
centre (a thousand open dialogues, each operator answering every 40 s); the bridge stores operator messages
one inbox event at a time, so past its storing rate (about 50 events/s on the reference machine) the
latency is queueing and grows with the burst. Target: p99 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _live import (
    LiveClient,
    Visitor,
    bridge,
    connect_all,
    external_chat_ids,
    http_client,
    open_sessions,
    operator_message_event,
    postgres_database,
    prepare,
    raise_open_files,
)
from _proc import free_port, machine, percentile

TARGET_P99_MS = 100.0
WARM_UP_EVENTS = 20
RECEIVE_TIMEOUT_SECONDS = 60.0
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def clock() -> float:
    """The system-wide monotonic clock, comparable between the poster and the receiver process."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def receiver(visitors: list[Visitor], live_url: str, pipe: Connection) -> None:
    """The receiving process: connect every visitor, say ``ready``, then report each conversation's
    first ``message.created`` arrival time once all have arrived (or the time is up)."""
    raise_open_files(len(visitors) + 1024)
    pipe.send(asyncio.run(_receive(visitors, live_url, pipe)))


async def _receive(visitors: list[Visitor], live_url: str, pipe: Connection) -> dict[int, float]:
    arrivals: dict[int, float] = {}
    everything = asyncio.Event()

    def on_event(conversation_id: int, event: dict[str, Any]) -> None:
        if event["kind"] == "message.created" and conversation_id not in arrivals:
            arrivals[conversation_id] = clock()
            if len(arrivals) == len(visitors):
                everything.set()

    async with http_client() as http:
        clients = [LiveClient(visitor, on_event) for visitor in visitors]
        await connect_all(http, live_url, clients)
        pipe.send("ready")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(RECEIVE_TIMEOUT_SECONDS):
                await everything.wait()
        await asyncio.gather(*(client.close() for client in clients))
    return arrivals


async def post_events(
    http: aiohttp.ClientSession, url: str, targets: list[tuple[int, str]], rate: float, first_id: int
) -> tuple[dict[int, float], int]:
    """One event per ``(conversation id, chat id)`` on an open loop, Bitrix24 message ids from ``first_id``
    on (each distinct: the bridge drops a redelivered id); each one's scheduled time, failed posts."""
    scheduled: dict[int, float] = {}
    failures = 0

    async def post(conversation_id: int, chat_id: str, n: int) -> None:
        nonlocal failures
        try:
            async with http.post(
                url, data=operator_message_event(chat_id, first_id + n), headers=FORM
            ) as answer:
                await answer.read()
                failures += answer.status != 200
        except (aiohttp.ClientError, TimeoutError):
            failures += 1

    tasks = []
    begin = clock()
    for n, (conversation_id, chat_id) in enumerate(targets):
        due = begin + (n / rate if rate > 0 else 0.0)
        delay = due - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        scheduled[conversation_id] = due
        tasks.append(asyncio.create_task(post(conversation_id, chat_id, n)))
    await asyncio.gather(*tasks)
    return scheduled, failures


async def measure(
    tmp: Path, database_url: str, redis_url: str | None, visitor_count: int, rate: float
) -> tuple[list[float], int, int]:
    """Latencies in ms of the measured events, events whose frame never arrived, failed posts."""
    widget_key = await prepare(database_url)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with bridge(tmp, port, database_url, redis_url):
        async with http_client() as http:
            visitors = await open_sessions(http, base_url, widget_key, visitor_count + WARM_UP_EVENTS)
            chats = await external_chat_ids(database_url)
            ours, theirs = multiprocessing.get_context("spawn").Pipe()
            receiving = multiprocessing.get_context("spawn").Process(
                target=receiver, args=(visitors, f"ws://127.0.0.1:{port}/api/v1/conversation/live", theirs)
            )
            receiving.start()
            try:
                if not ours.poll(120) or ours.recv() != "ready":
                    raise RuntimeError("the receiving process did not connect its visitors")
                await asyncio.sleep(1.0)  # let the handshakes' database work settle
                events_url = f"{base_url}/b24/events"
                warm_up = [(v.conversation_id, chats[v.conversation_id]) for v in visitors[:WARM_UP_EVENTS]]
                for n, target in enumerate(warm_up):
                    await post_events(http, events_url, [target], rate=0, first_id=100_000 + n)
                    await asyncio.sleep(0.05)
                measured = [(v.conversation_id, chats[v.conversation_id]) for v in visitors[WARM_UP_EVENTS:]]
                scheduled, failures = await post_events(http, events_url, measured, rate, first_id=200_000)
                arrivals: dict[int, float] = ours.recv() if ours.poll(RECEIVE_TIMEOUT_SECONDS + 30) else {}
            finally:
                receiving.join(30)
                if receiving.is_alive():
                    receiving.kill()
    latencies = [(arrivals[c] - due) * 1000 for c, due in scheduled.items() if c in arrivals]
    return latencies, len(scheduled) - len(latencies), failures


async def run(visitor_count: int, rate: float, postgres: bool, redis_url: str) -> None:
    raise_open_files(visitor_count + WARM_UP_EVENTS + 1024)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        if postgres:
            async with postgres_database() as database_url:
                result = await measure(tmp, database_url, redis_url, visitor_count, rate)
        else:
            result = await measure(tmp, f"sqlite+aiosqlite:///{tmp / 'bench.db'}", None, visitor_count, rate)
    latencies, missing, failures = result
    backend = "PostgreSQL + Redis fan-out" if postgres else "SQLite, in-process fan-out"
    pace = f"open loop at {rate:g} events/s" if rate > 0 else "all at once"
    print(f"operator message broadcast: {visitor_count} live visitors, one event each, {pace}, {backend}")
    print(f"machine: {machine()}")
    print(f"frames received: {len(latencies)}, never arrived: {missing}, failed posts: {failures}")
    print(
        f"event POST → visitor's frame, ms: p50 {percentile(latencies, 50):.1f}  "
        f"p95 {percentile(latencies, 95):.1f}  p99 {percentile(latencies, 99):.1f}  "
        f"max {max(latencies, default=float('nan')):.1f}"
    )
    met = not missing and percentile(latencies, 99) <= TARGET_P99_MS
    print(f"target p99 ≤ {TARGET_P99_MS:g} ms: {'met' if met else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=1000, help="live visitors, one event each")
    parser.add_argument("--rate", type=float, default=25.0, help="events per second (0: all at once)")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL and Redis fan-out")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0", help="with --postgres")
    args = parser.parse_args()
    asyncio.run(run(args.visitors, args.rate, args.postgres, args.redis_url))


if __name__ == "__main__":
    main()
