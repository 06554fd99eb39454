"""Visitor messages reach the sandbox exactly once, in order per conversation, in few calls."""

from __future__ import annotations

from tests.worker.peer import Bridge, wait_until

from openline_bridge.store import conversations
from openline_bridge.store.models import MessageStatus, Visitor


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


async def test_the_visitors_page_and_profile_reach_the_chat(bridge: Bridge) -> None:
    conversation_id = await bridge.new_conversation("Anna Petrova")
    async with bridge.database.transaction() as session:
        conversation = await conversations.get(session, conversation_id)
        conversation.page_url = "https://shop.example/cart?step=2"
        visitor = await session.get(Visitor, conversation.visitor_id)
        assert visitor is not None
        visitor.email = "anna@example.com"
        external_chat_id = conversation.external_chat_id
    await bridge.post(conversation_id, "Is delivery free?")
    async with bridge.running():
        await wait_until(bridge.all_settled)
    [chat] = [
        c
        for c in bridge.sandbox.control("GET", "/conversations")
        if c["external_chat_id"] == external_chat_id
    ]
    assert chat["description"] == "https://shop.example/cart?step=2"
    assert chat["title"] == "Anna Petrova"
    assert (chat["customer"]["name"], chat["customer"]["last_name"]) == ("Anna", "Petrova")
