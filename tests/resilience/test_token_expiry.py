"""The access token expires in the middle of a burst: no message fails, and the bridge refreshes exactly
once (issue 4, test 5; contract §5.4: expired_token answers, §5.1: the refresh rotates both tokens)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from tests.resilience.checks import settle
from tests.resilience.stack import (
    Stack,
    Visitor,
    open_visitors,
    send_burst,
    until_acknowledged,
    visitor_events,
)

VISITORS = 40
PER_VISITOR = 10
EXPIRE_AFTER = 150  # acknowledged messages before the tokens expire


def refreshes(stack: Stack) -> int:
    """How many token refreshes the bridge logged (``bitrix24.oauth.refreshed``)."""
    return stack.bridge.log.read_text(encoding="utf-8", errors="replace").count('"bitrix24.oauth.refreshed"')


@pytest.mark.slow
async def test_token_expiring_mid_burst_fails_nothing_and_refreshes_once(
    stack: Stack, control: httpx.AsyncClient, visitor_http: httpx.AsyncClient, sqlite_url: str
) -> None:
    visitors = await open_visitors(visitor_http, stack.widget_key, VISITORS)
    refreshed_before = refreshes(stack)
    since = max((c["id"] for c in (await control.get("/_sandbox/calls")).json()["calls"]), default=0)
    started = time.monotonic()

    async def expire_mid_burst() -> int:
        await until_acknowledged(visitors, EXPIRE_AFTER, within=60)
        answer = await control.post("/_sandbox/tokens/expire")
        answer.raise_for_status()
        return int(answer.json()["expired"])

    expiring = asyncio.create_task(expire_mid_burst())
    total = await send_burst(visitor_http, visitors, PER_VISITOR, tag="expiry", within=30)
    expired = await expiring
    report = await settle(visitors, sqlite_url, control, within=60)
    elapsed = time.monotonic() - started

    calls = (await control.get("/_sandbox/calls", params={"since": since, "limit": 10000})).json()["calls"]
    rejected = sum(c["error"] == "expired_token" for c in calls)
    statuses = await final_statuses(visitor_http, visitors)
    failed = [m["client_message_id"] for m in statuses if m["status"] == "failed"]
    refreshed = refreshes(stack) - refreshed_before
    print(
        f"\ntoken expiry: {total} messages acknowledged, {expired} tokens expired mid-burst, all in the "
        f"sandbox after {elapsed:.1f} s; {len(calls)} REST calls, {rejected} answered expired_token, "
        f"{refreshed} refresh(es), {len(failed)} failed messages; {report.summary()}"
    )
    assert total == VISITORS * PER_VISITOR
    assert report.clean, report.summary()
    assert not failed
    assert refreshed == 1


async def final_statuses(http: httpx.AsyncClient, visitors: list[Visitor]) -> list[dict[str, Any]]:
    """The latest status of every visitor message, read back through the protocol's event log."""
    statuses: dict[str, dict[str, Any]] = {}
    for visitor in visitors:
        for event in await visitor_events(http, visitor):
            if event["kind"] == "message.created":
                message = event["payload"]["message"]
                statuses[message["id"]] = {"client_message_id": message["client_message_id"]}
                statuses[message["id"]]["status"] = message["status"]
            elif event["kind"] == "message.status":
                statuses[event["payload"]["message_id"]]["status"] = event["payload"]["status"]
    return list(statuses.values())
