"""Delivery throughput of the outbox worker under the portal's rate limit (not a test; prints its figures).

Starts a b24-sandbox with its leaky bucket at 50/2 (contract §4), connects a bridge to it (SQLite in a
temporary directory unless `--database-url` is given), queues N visitor messages spread over M
conversations through the relay (message, event and outbox job per message, as the widget would), then
runs one worker with the bridge's own 50/2 limiter and measures, from the worker's start until every
message is delivered:

- delivered messages per second,
- REST requests per message (requests the sandbox received, a `batch` counting once),
- 503 answers (should be 0: our pacing keeps under the portal's limit),
- that every message arrived exactly once.

    .venv/bin/python bench/throughput.py [--messages 5000] [--conversations 500] [--per-call 25]

Targets: >= 40 msg/s and <= 0.1 requests per message at saturation.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from _proc import ROOT, machine

sys.path.insert(0, str(ROOT))  # the shared test peer: the same setup the worker tests use

from tests.bitrix24.sandbox_peer import free_port
from tests.worker.peer import FAST, connect_bridge, start_sandbox_at, wait_until

from openline_bridge.bitrix24.ratelimit import LocalLeakyBucket, RateLimit
from openline_bridge.store.database import Database
from openline_bridge.store.migrate import upgrade
from openline_bridge.store.models import MessageStatus


async def bench(messages: int, conversations: int, per_call: int, database_url: str | None) -> None:
    """Queue, deliver, measure, print."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sandbox = start_sandbox_at(free_port(), folder / "state.json", folder / "sandbox.log")
        database = Database.connect(database_url or f"sqlite+aiosqlite:///{folder / 'bench.db'}")
        try:
            await upgrade(database)
            bridge = await connect_bridge(database, sandbox, folder / "files")
            sandbox.control("PUT", "/limits", {"rate": "50/2"})
            bridge.limiter = LocalLeakyBucket(RateLimit(50, 2.0))
            queued_at = time.perf_counter()
            chats = [await bridge.new_conversation(f"Visitor {i}") for i in range(conversations)]
            for index in range(messages):
                await bridge.post(chats[index % conversations], f"message {index}")
            queueing = time.perf_counter() - queued_at
            first_call = (bridge.calls() or [{"id": 0}])[-1]["id"]
            worker = bridge.worker(replace(FAST, messages_per_call=per_call, poll_interval=0.2))
            started = time.perf_counter()
            async with bridge.running(worker):

                async def delivered() -> bool:
                    return set((await bridge.statuses()).values()) <= {MessageStatus.DELIVERED}

                await wait_until(delivered, within=3600, interval=0.5)
            elapsed = time.perf_counter() - started
            calls = [call for call in bridge.calls() if call["id"] > first_call]
            texts = Counter(text for chat in bridge.chat_texts().values() for text in chat)
            exactly_once = len(texts) == messages and set(texts.values()) == {1}
            print(f"machine: {machine()}")
            print(
                f"messages: {messages} in {conversations} conversations, "
                f"up to {per_call} per call, limit 50/2"
            )
            print(f"queueing through the relay: {queueing:.1f} s ({messages / queueing:.0f} msg/s)")
            print(f"delivery: {elapsed:.1f} s -> {messages / elapsed:.1f} msg/s")
            print(f"REST requests: {len(calls)} -> {len(calls) / messages:.3f} per message")
            print(f"by method: {dict(Counter(call['method'] for call in calls))}")
            print(f"503 answers: {sum(call['status'] == 503 for call in calls)}")
            print(f"arrived exactly once: {exactly_once}")
            for client in bridge.clients:
                await client.aclose()
        finally:
            await database.dispose()
            sandbox.stop()


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--per-call", type=int, default=25)
    parser.add_argument("--database-url", help="e.g. postgresql+asyncpg://postgres@127.0.0.1/bench")
    arguments = parser.parse_args()
    asyncio.run(
        bench(arguments.messages, arguments.conversations, arguments.per_call, arguments.database_url)
    )


if __name__ == "__main__":
    main()
