"""503 and QUERY_LIMIT_EXCEEDED storms with the portal's 50/2 limit on: nothing is lost, and the
bridge's own pacing keeps it under the limit, so the only refusals it meets are the injected ones
(issue 4, test 3; contract §4 on the leaky bucket and QUERY_LIMIT_EXCEEDED)."""

from __future__ import annotations

import time

import httpx
import pytest
from tests.resilience.checks import settle
from tests.resilience.stack import Stack, open_visitors, send_burst

SEND = "imconnector.send.messages"
INJECTED_503 = 6  # plain 503s, as a portal under maintenance answers
INJECTED_LIMIT = 6  # QUERY_LIMIT_EXCEEDED answered before the real bucket is full
VISITORS = 20
PER_VISITOR = 4
# One message per call: 80 messages (plus the retries) in as many calls, well past the bucket's burst
# of 50, so the bridge has to pace itself.
ONE_PER_CALL = {"OLB_WORKER_MESSAGES_PER_CALL": "1"}


@pytest.mark.slow
@pytest.mark.parametrize("stack", [ONE_PER_CALL], indirect=True)
async def test_storms_lose_nothing_and_the_bridge_does_not_provoke_the_limit(
    stack: Stack, control: httpx.AsyncClient, visitor_http: httpx.AsyncClient, sqlite_url: str
) -> None:
    (await control.put("/_sandbox/limits", json={"rate": "50/2"})).raise_for_status()
    storm = {
        "errors": [
            {"method": SEND, "status": 503, "error": "SERVICE_UNAVAILABLE", "count": INJECTED_503},
            {"method": SEND, "status": 503, "error": "QUERY_LIMIT_EXCEEDED", "count": INJECTED_LIMIT},
        ]
    }
    (await control.put("/_sandbox/faults", json=storm)).raise_for_status()
    since = max((c["id"] for c in (await control.get("/_sandbox/calls")).json()["calls"]), default=0)
    visitors = await open_visitors(visitor_http, stack.widget_key, VISITORS)
    started = time.monotonic()
    total = await send_burst(visitor_http, visitors, PER_VISITOR, tag="storm", within=30)
    report = await settle(visitors, sqlite_url, control, within=120)
    elapsed = time.monotonic() - started

    calls = (await control.get("/_sandbox/calls", params={"since": since, "limit": 10000})).json()["calls"]
    leftover = (await control.get("/_sandbox/faults")).json()["errors"]
    refused = [c for c in calls if c["status"] == 503]
    limit_refusals = sum(c["error"] == "QUERY_LIMIT_EXCEEDED" for c in refused)
    provoked = limit_refusals - INJECTED_LIMIT
    print(
        f"\nstorm: {total} messages acknowledged, all in the sandbox after {elapsed:.1f} s; "
        f"{len(calls)} REST calls, {len(refused)} answered 503 ({INJECTED_503 + INJECTED_LIMIT} injected, "
        f"{provoked} QUERY_LIMIT_EXCEEDED provoked by the bridge itself); {report.summary()}"
    )
    assert total == VISITORS * PER_VISITOR
    assert len(calls) > 50 + INJECTED_503 + INJECTED_LIMIT, "the load went past the bucket's burst"
    assert report.clean, report.summary()
    assert all(rule["count"] == 0 for rule in leftover), "every injected fault was met"
    assert provoked == 0
