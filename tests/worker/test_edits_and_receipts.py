"""Edits, deletes, delivery and read receipts and chat names reach the sandbox; small calls share a batch."""

from __future__ import annotations

from typing import Any

from tests.worker.peer import CONNECTOR, Bridge, wait_until

from openline_bridge.relay.visitor_inbound import change_profile, delete_message, edit_message, mark_read
from openline_bridge.store import conversations, messages
from openline_bridge.store.conversation_events import last_seq
from openline_bridge.store.messages import NewOperatorMessage
from openline_bridge.store.models import Message, MessageDirection, OutboxStatus
from openline_bridge.store.types import utc_now
from openline_bridge.worker import jobs


async def _operator_message(bridge: Bridge, conversation_id: int, text: str) -> tuple[Message, int]:
    """An operator writes in the sandbox; the bridge stores it and queues its delivery receipt (as the
    relay does for ``ONIMCONNECTORMESSAGEADD``)."""
    async with bridge.database.transaction() as session:
        conversation = await conversations.get(session, conversation_id)
    sent = bridge.sandbox.control(
        "POST",
        "/operator/messages",
        {
            "line": bridge.bitrix_line_id,
            "connector": CONNECTOR,
            "chat_id": conversation.external_chat_id,
            "text": text,
        },
    )
    async with bridge.database.transaction() as session:
        stored = await messages.insert_operator_message(
            session,
            NewOperatorMessage(
                portal_id=bridge.portal_id,
                conversation_id=conversation_id,
                direction=MessageDirection.FROM_OPERATOR,
                bitrix_message_id=sent["bitrix_message_id"],
                author_bitrix_user_id=2,
                author_name="Operator",
                text=text,
                parsed={"nodes": [{"type": "text", "text": text}]},
            ),
            utc_now(),
        )
        assert stored is not None
        await jobs.confirm_delivery(
            session, portal_id=bridge.portal_id, conversation_id=conversation_id, message_id=stored.id
        )
        stored.created_seq = await last_seq(session, conversation_id)
    return stored, sent["bitrix_chat_id"]


def _chat(bridge: Bridge, bitrix_chat_id: int) -> dict[str, Any]:
    chat: dict[str, Any] = bridge.sandbox.control("GET", f"/conversations/{bitrix_chat_id}")
    return chat


async def test_edit_delete_receipts_and_rename(bridge: Bridge) -> None:
    conversation = await bridge.new_conversation("Anna")
    kept = await bridge.post(conversation, "first")
    removed = await bridge.post(conversation, "second")
    async with bridge.running():
        await wait_until(bridge.all_settled)
    operator, bitrix_chat_id = await _operator_message(bridge, conversation, "Hello Anna")
    await edit_message(bridge.relay, conversation, str(kept), "first, corrected")
    await delete_message(bridge.relay, conversation, str(removed))
    async with bridge.database.transaction() as session:
        visitor_id = (await conversations.get(session, conversation)).visitor_id
    await change_profile(bridge.relay, visitor_id, name="Anna Schmidt")
    since = bridge.calls()[-1]["id"]
    async with bridge.running():
        await wait_until(bridge.all_settled)
    chat = _chat(bridge, bitrix_chat_id)
    visitor_texts = [(m["text"], m["deleted"]) for m in chat["messages"] if m["direction"] == "in"]
    assert visitor_texts == [("first, corrected", False), ("second", True)]
    (reply,) = [m for m in chat["messages"] if m["direction"] == "out"]
    assert reply["delivered"] is True
    assert reply["connector_mid"] == [operator.external_message_id]
    assert chat["title"] == "Anna Schmidt"
    # one conversation: its jobs went out one after another, in the order they were queued
    requests = [call["method"] for call in bridge.calls() if call["id"] > since]
    assert requests == [
        "imconnector.send.status.delivery",
        "imconnector.update.messages",
        "imconnector.delete.messages",
        "imconnector.chat.name.set",
    ]
    async with bridge.database.transaction() as session:
        seq = await last_seq(session, conversation)
    await mark_read(bridge.relay, conversation, seq)
    async with bridge.running():
        await wait_until(bridge.all_settled)
    assert bridge.calls("imconnector.send.status.reading")
    assert {job.status for job in await bridge.jobs()} == {OutboxStatus.DONE}


async def test_small_calls_of_many_conversations_share_one_batch(bridge: Bridge) -> None:
    edited, deleted, answered, renamed = [await bridge.new_conversation(f"V {i}") for i in range(4)]
    to_edit = await bridge.post(edited, "typo")
    to_delete = await bridge.post(deleted, "oops")
    await bridge.post(answered, "question")
    await bridge.post(renamed, "hi")
    async with bridge.running():
        await wait_until(bridge.all_settled)
    await _operator_message(bridge, answered, "answer")
    await edit_message(bridge.relay, edited, str(to_edit), "fixed")
    await delete_message(bridge.relay, deleted, str(to_delete))
    async with bridge.database.transaction() as session:
        visitor_id = (await conversations.get(session, renamed)).visitor_id
    await change_profile(bridge.relay, visitor_id, name="Renamed Visitor")
    since = bridge.calls()[-1]["id"]
    async with bridge.running():
        await wait_until(bridge.all_settled)
    requests = [call for call in bridge.calls() if call["id"] > since]
    assert [call["method"] for call in requests] == ["batch"]
    assert {job.status for job in await bridge.jobs()} == {OutboxStatus.DONE}
    arrived = await bridge.arrived([edited, deleted])
    assert arrived == {edited: ["fixed"], deleted: []}
