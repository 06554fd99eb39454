"""The portal unreachable for 60 s: everything visitors sent meanwhile arrives once it is back
(issue 4, test 2). The sandbox saves its portal, stops, and comes back on the same port from the file."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from tests.resilience.checks import settle
from tests.resilience.stack import Stack, open_visitors, send_burst

OUTAGE = 60.0
VISITORS = 20
PER_VISITOR = 5


@pytest.mark.slow
async def test_everything_sent_during_a_60_s_outage_arrives_afterwards(
    stack: Stack, control: httpx.AsyncClient, visitor_http: httpx.AsyncClient, sqlite_url: str
) -> None:
    visitors = await open_visitors(visitor_http, stack.widget_key, VISITORS)
    before = await send_burst(visitor_http, visitors, PER_VISITOR, tag="before", within=20)
    assert (await settle(visitors, sqlite_url, control, within=30)).clean

    await asyncio.to_thread(stack.sandbox.save_and_stop)
    down_at = time.monotonic()
    during = await send_burst(visitor_http, visitors, PER_VISITOR, tag="during", within=20)
    await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - down_at)))
    await asyncio.to_thread(stack.sandbox.start)
    back_at = time.monotonic()

    report = await settle(visitors, sqlite_url, control, within=240)
    caught_up = time.monotonic() - back_at
    calls = (await control.get("/_sandbox/calls", params={"limit": 10000})).json()["calls"]
    print(
        f"\noutage: {before} messages before, {during} acknowledged during {back_at - down_at:.0f} s down; "
        f"all in the sandbox {caught_up:.1f} s after it came back, with {len(calls)} REST calls; "
        f"{report.summary()}"
    )
    assert during == VISITORS * PER_VISITOR
    assert report.clean, report.summary()
