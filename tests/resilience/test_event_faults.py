"""Duplicated and reordered Bitrix24 events: the visitor sees every operator message exactly once
(issue 4, test 4; contract §7.2 and §16 item 14: delivery order and uniqueness are not guaranteed).

The sandbox doubles every delivery and holds back the first operator message's two copies (the other
senders of its queue overtake them), so the bridge first sees the events out of order. Afterwards every
recorded event body is posted again to ``/b24/events`` in reverse order: a third copy of each, reordered."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
import pytest
from tests.resilience.stack import (
    Stack,
    open_visitors,
    sandbox_messages,
    send_message,
    visitor_events,
    wait_until,
)

OPERATOR_MESSAGES = 10
MESSAGE_ADD = "ONIMCONNECTORMESSAGEADD"
FORM = "application/x-www-form-urlencoded"  # how Bitrix24 posts events (contract §7.3)
HELD_BACK = 2.0  # seconds the first message's events wait; two of the sandbox's four senders wait with them


@pytest.mark.slow
async def test_duplicated_and_reordered_events_reach_the_visitor_once(
    stack: Stack, control: httpx.AsyncClient, visitor_http: httpx.AsyncClient
) -> None:
    [visitor] = await open_visitors(visitor_http, stack.widget_key, 1)
    assert await send_message(visitor_http, visitor, "events-0", "Hello, anyone there?", within=10)

    async def arrived() -> bool:
        return bool(await sandbox_messages(control))

    assert await wait_until(arrived, within=30)
    [chat] = (await control.get("/_sandbox/conversations")).json()
    faults = {"events": {"duplicate_fraction": 1.0}}
    (await control.put("/_sandbox/faults", json=faults)).raise_for_status()
    recorded = (await control.get("/_sandbox/events/deliveries")).json()["deliveries"]
    since = max((d["id"] for d in recorded), default=0)
    started = time.monotonic()

    texts = [f"operator answer {n}" for n in range(OPERATOR_MESSAGES)]
    for n, text in enumerate(texts):
        delay = HELD_BACK if n == 0 else 0.0
        (await control.put("/_sandbox/events/config", json={"delay": delay})).raise_for_status()
        written = await control.post(
            "/_sandbox/operator/messages",
            json={
                "line": chat["line"],
                "connector": chat["connector"],
                "chat_id": chat["external_chat_id"],
                "text": text,
            },
        )
        written.raise_for_status()
    assert (await control.post("/_sandbox/events/drain", params={"timeout": 30})).json()["drained"]
    deliveries = (
        await control.get("/_sandbox/events/deliveries", params={"event": MESSAGE_ADD, "since": since})
    ).json()["deliveries"]
    first_sent = [d["sent_at"] for d in deliveries]
    overtaken = sum(sent < min(first_sent[:2]) for sent in first_sent[2:])
    replayed = []
    for delivery in reversed(deliveries):
        answer = await visitor_http.post(
            "/b24/events", content=delivery["body"], headers={"Content-Type": FORM}
        )
        replayed.append(answer.status_code)

    async def operator_texts() -> list[str]:
        events = await visitor_events(visitor_http, visitor)
        return [
            e["payload"]["message"]["text"]
            for e in events
            if e["kind"] == "message.created" and e["payload"]["message"]["direction"] == "operator"
        ]

    seen: list[str] = []
    async with asyncio.timeout(30):
        while len(set(seen)) < OPERATOR_MESSAGES:
            await asyncio.sleep(0.3)
            seen = await operator_texts()
    await asyncio.sleep(2.0)  # room for a late duplicate to show up
    seen = await operator_texts()
    position = seen.index(texts[0]) + 1 if texts[0] in seen else None
    print(
        f"\nevents: {OPERATOR_MESSAGES} operator messages, {len(deliveries)} deliveries by the sandbox "
        f"(doubled; {overtaken} overtook the first message's), {len(replayed)} replayed in reverse "
        f"order (answers {Counter(replayed)}); "
        f"the visitor saw {len(seen)} operator messages after {time.monotonic() - started:.1f} s, "
        f"the first one at position {position}"
    )
    assert len(deliveries) == 2 * OPERATOR_MESSAGES
    assert overtaken > 0, "the sandbox delivered the events out of order"
    assert all(status == 200 for status in replayed)
    assert Counter(seen) == Counter(texts), seen
