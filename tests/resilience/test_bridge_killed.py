"""kill -9 of the bridge in the middle of a burst: what a visitor saw acknowledged survives and arrives
in the sandbox exactly once, in order (issue 4, test 1). Run on SQLite and PostgreSQL: it is about storage.

The kill is aimed at the one place a duplicate could arise: the sandbox stores the next send call's
messages, then holds its answer while the bridge dies. Bitrix24 does not de-duplicate
``imconnector.send.messages`` (pitfall P17); the restarted bridge finds those jobs marked as possibly
sent and reads the chats' session histories before sending anything again (docs/worker.md "Exactly
once")."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from tests.resilience.checks import settle
from tests.resilience.stack import (
    acknowledged,
    open_visitors,
    send_burst,
    start_stack,
    until_acknowledged,
    visitor_client,
)

VISITORS = 100
PER_VISITOR = 20  # 2,000 messages; 20 is also a visitor's message burst (protocol §2.4)
KILL_AFTER = 600  # acknowledged messages before the kill
SEND = "imconnector.send.messages"
HISTORY = "imopenlines.session.history.get"


@pytest.mark.slow
async def test_kill_9_mid_burst_loses_nothing_and_keeps_order(database_url: str, tmp_path: Path) -> None:
    backend = database_url.split("+", 1)[0]
    stack = start_stack(tmp_path, database_url)
    try:
        async with (
            visitor_client(stack.bridge.url) as http,
            httpx.AsyncClient(base_url=stack.sandbox.url, timeout=30) as control,
        ):
            visitors = await open_visitors(http, stack.widget_key, VISITORS)
            started = time.monotonic()

            async def kill_and_restart() -> float:
                await until_acknowledged(visitors, KILL_AFTER, within=120)
                hold = {"holds": [{"method": SEND, "when": "after", "seconds": 3.0, "count": 1}]}
                (await control.put("/_sandbox/faults", json=hold)).raise_for_status()
                await asyncio.sleep(
                    1.0
                )  # the worker is busy: its next send call took effect and waits for its answer
                await asyncio.to_thread(stack.bridge.kill)
                at = acknowledged(visitors)
                await asyncio.sleep(1.0)
                await asyncio.to_thread(stack.bridge.start)
                return float(at)

            killer = asyncio.create_task(kill_and_restart())
            # generous: the 100 visitors' client shares two cores with two bridges and two portals under -n 2;
            # what is asserted is that nothing is lost or doubled, not how fast it goes
            total = await send_burst(http, visitors, PER_VISITOR, tag=f"kill-{backend}", within=240)
            killed_at = await killer
            sent_in = time.monotonic() - started
            # the dead process's lease expires (30 s); its successor takes its jobs over at once
            report = await settle(visitors, database_url, control, within=180)
            calls = (await control.get("/_sandbox/calls", params={"limit": 10000})).json()["calls"]
        print(
            f"\n[{backend}] kill -9 after {killed_at:.0f} acks; "
            f"acknowledged {total}/{VISITORS * PER_VISITOR} "
            f"in {sent_in:.1f} s, all delivered after {time.monotonic() - started:.1f} s; "
            f"sandbox REST calls {len(calls)}; {report.summary()}"
        )
        assert total == VISITORS * PER_VISITOR
        summary = report.summary()
        assert not report.missing_in_database, summary
        assert not report.missing_in_sandbox, summary
        assert not report.out_of_order_chats, summary
        assert not report.duplicated_in_sandbox, summary
        # the held call's messages were found in the chats' histories rather than sent again
        assert any(call["method"] == HISTORY for call in calls), summary
    finally:
        stack.stop()
