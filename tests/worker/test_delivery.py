"""Visitor messages reach the sandbox exactly once, in order per conversation, in few calls."""

from __future__ import annotations

from tests.worker.peer import Bridge, wait_until

from openline_bridge.store.models import MessageStatus


async def test_burst_arrives_once_in_order_with_batching(bridge: Bridge) -> None:
    conversation_ids = [await bridge.new_conversation(f"Visitor {i}") for i in range(5)]
    expected: dict[int, list[str]] = {cid: [] for cid in conversation_ids}
    for round_ in range(8):
        for cid in conversation_ids:
            text = f"c{cid} m{round_}"
            await bridge.post(cid, text)
            expected[cid].append(text)
    async with bridge.running():
        await wait_until(bridge.all_settled)
    statuses = await bridge.statuses()
    assert set(statuses.values()) == {MessageStatus.DELIVERED}
    assert await bridge.arrived(conversation_ids) == expected
    sends = bridge.calls("imconnector.send.messages")
    assert 1 <= len(sends) <= 2, f"40 messages took {len(sends)} send calls"
