"""Bitrix24 → visitor: inbox events applied on both databases — operator messages with signature and
BB-code, duplicates and reordering, edits, deletes, dialog start/finish, malformed events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from tests.relay.conftest import Chat, counts, job_kinds

from openline_bridge.relay import operator_inbound, visitor_inbound
from openline_bridge.relay.context import Relay
from openline_bridge.relay.downloads import OperatorFiles
from openline_bridge.relay.inbox_consumer import MessagingInbox
from openline_bridge.store import inbox, messages
from openline_bridge.store.conversation_events import list_events
from openline_bridge.store.models import (
    Conversation,
    ConversationState,
    InboxEvent,
    InboxStatus,
    Message,
    MessageStatus,
)
from openline_bridge.store.types import utc_now

OWNER = "test-processor"


@pytest.fixture
async def files(relay: Relay) -> AsyncIterator[OperatorFiles]:
    """A downloader whose token source is never needed by these events (no files)."""

    async def token(member_id: str) -> str:
        return "unused"

    async with httpx.AsyncClient() as http:
        yield OperatorFiles(relay.files, http, token, retry_delays=())


def form(event: str, data: Any) -> dict[str, Any]:
    """An event as ``bitrix24.formdata.parse_form`` gives it (every value a string, contract §7.3)."""
    return {
        "event": event,
        "event_handler_id": "5",
        "data": data,
        "ts": "1773759161",
        "auth": {
            "domain": "portal.example.bitrix24.com",
            "member_id": "m",
            "application_token": "app-token-1",
        },
    }


def message_add(chat: Chat, bitrix_id: int, text: str, user_id: str = "27") -> dict[str, Any]:
    element = {
        "im": {"chat_id": "1807", "message_id": str(bitrix_id)},
        "message": {"user_id": user_id, "text": text},
        "chat": {"id": chat.external_chat_id},
    }
    return form("ONIMCONNECTORMESSAGEADD", {"CONNECTOR": "c", "LINE": "1", "MESSAGES": [element]})


async def apply(relay: Relay, files: OperatorFiles, chat: Chat, payload: dict[str, Any], key: str) -> int:
    """Record the event in the inbox, claim it and process it; returns the inbox row id."""
    async with relay.database.transaction() as session:
        event_id = await inbox.record(session, chat.portal_id, payload["event"], key, payload, utc_now())
        assert event_id is not None
        claimed = await inbox.claim(session, OWNER, utc_now())
    (item,) = [c for c in claimed if c.id == event_id]
    await operator_inbound.process(relay, files, item, OWNER)
    return event_id


async def inbox_row(relay: Relay, event_id: int) -> InboxEvent:
    async with relay.database.transaction() as session:
        row = await session.get(InboxEvent, event_id)
        assert row is not None
        return row


async def test_operator_message_with_signature_and_bbcode(
    relay: Relay, files: OperatorFiles, chat: Chat
) -> None:
    visitor = await visitor_inbound.accept_message(relay, chat.conversation_id, "c-1", "Hello")
    async with relay.database.transaction() as session:
        own = await messages.get(session, int(visitor.message["id"]))
        own.status = MessageStatus.SENT
    text = "[b]Klaus Weber:[/b][br] [b]Order[/b] shipped:[br][url=https://t.example/1]track it[/url]"
    event_id = await apply(relay, files, chat, message_add(chat, 86497, text), "add-1")
    assert (await inbox_row(relay, event_id)).status == InboxStatus.PROCESSED
    async with relay.database.transaction() as session:
        stored = await messages.find_by_bitrix_id(session, chat.portal_id, 86497)
        assert stored is not None
        events = await list_events(session, chat.conversation_id)
        conversation = await session.get(Conversation, chat.conversation_id)
        assert conversation is not None and conversation.bitrix_chat_id == 1807
        assert (await messages.get(session, own.id)).status == MessageStatus.READ  # protocol §4.4
    assert stored.author_name == "Klaus Weber"
    assert stored.text == "Order shipped:\ntrack it"
    assert stored.status == MessageStatus.DELIVERED
    created = events[-1]
    assert created.kind == "message.created"
    payload = created.payload["message"]
    assert payload["direction"] == "operator" and payload["author"]["name"] == "Klaus Weber"
    assert payload["rich"] == [
        {"type": "b", "children": [{"type": "text", "text": "Order"}]},
        {"type": "text", "text": " shipped:"},
        {"type": "br"},
        {"type": "url", "href": "https://t.example/1", "children": [{"type": "text", "text": "track it"}]},
    ]
    assert [e.kind for e in events] == ["message.created", "message.status", "message.created"]
    assert await job_kinds(relay.database) == ["send_message", "confirm_delivery"]


async def test_duplicate_and_redelivered_events_store_one_message(
    relay: Relay, files: OperatorFiles, chat: Chat
) -> None:
    await apply(relay, files, chat, message_add(chat, 700, "first"), "k1")
    await apply(relay, files, chat, message_add(chat, 700, "first"), "k2")  # a second binding's copy
    await apply(relay, files, chat, message_add(chat, 699, "older"), "k3")  # arrives after a newer one
    found = await counts(relay.database)
    assert (found.messages, found.events, found.jobs) == (2, 2, 2)


async def test_edit_and_delete_events_use_the_confirmed_external_ids(
    relay: Relay, files: OperatorFiles, chat: Chat
) -> None:
    await apply(relay, files, chat, message_add(chat, 800, "[b]Klaus:[/b][br]Helo"), "a")
    async with relay.database.transaction() as session:
        stored = await messages.find_by_bitrix_id(session, chat.portal_id, 800)
        assert stored is not None and stored.external_message_id is not None
    element = {
        "im": {"chat_id": "1807", "message_id": "800"},
        "message": {"id": [stored.external_message_id], "text": "[b]Klaus:[/b][br]Hello"},
        "chat": {"id": chat.external_chat_id},
    }
    update = form("ONIMCONNECTORMESSAGEUPDATE", {"CONNECTOR": "c", "LINE": "1", "MESSAGES": [element]})
    await apply(relay, files, chat, update, "u1")
    await apply(relay, files, chat, update, "u2")  # the same text again: no second event
    delete_element = {
        "im": {"chat_id": "1807", "message_id": "800"},
        "message": {"id": stored.external_message_id},
        "chat": {"id": chat.external_chat_id},
    }
    delete = form("ONIMCONNECTORMESSAGEDELETE", {"CONNECTOR": "c", "LINE": "1", "MESSAGES": [delete_element]})
    await apply(relay, files, chat, delete, "d1")
    await apply(relay, files, chat, delete, "d2")
    async with relay.database.transaction() as session:
        events = await list_events(session, chat.conversation_id)
    assert [e.kind for e in events] == ["message.created", "message.edited", "message.deleted"]
    assert events[1].payload["message"]["text"] == "Hello" and events[1].payload["message"]["edited_at"]
    assert events[2].payload["message"]["deleted"] is True and events[2].payload["message"]["rich"] is None


async def test_update_of_an_unknown_message_changes_nothing(
    relay: Relay, files: OperatorFiles, chat: Chat
) -> None:
    element = {
        "im": {"chat_id": "1", "message_id": "5"},
        "message": {"id": ["m-unknown"], "text": "x"},
        "chat": {"id": chat.external_chat_id},
    }
    event_id = await apply(
        relay,
        files,
        chat,
        form("ONIMCONNECTORMESSAGEUPDATE", {"CONNECTOR": "c", "LINE": "1", "MESSAGES": [element]}),
        "u",
    )
    assert (await inbox_row(relay, event_id)).status == InboxStatus.PROCESSED
    assert (await counts(relay.database)).events == 0


def dialog(event: str, chat: Chat, session_id: int, closed: str) -> dict[str, Any]:
    element = {
        "connector": {"connector_id": "c", "line_id": "1", "chat_id": chat.external_chat_id, "user_id": "0"},
        "session": {"id": str(session_id), "closed": closed, "parent_id": "0", "close_term": "10"},
        "chat": {"id": chat.external_chat_id},
        "user": {"id": "0"},
    }
    return form(event, {"CONNECTOR": "c", "LINE": "1", "DATA": [element]})


async def test_dialog_start_and_finish(relay: Relay, files: OperatorFiles, chat: Chat) -> None:
    await apply(relay, files, chat, dialog("ONIMCONNECTORDIALOGSTART", chat, 10, "N"), "s10")
    await apply(relay, files, chat, dialog("ONIMCONNECTORDIALOGFINISH", chat, 10, "Y"), "f10")
    await apply(relay, files, chat, dialog("ONIMCONNECTORDIALOGSTART", chat, 11, "N"), "s11")
    await apply(relay, files, chat, dialog("ONIMCONNECTORDIALOGFINISH", chat, 10, "Y"), "f10-late")
    async with relay.database.transaction() as session:
        events = await list_events(session, chat.conversation_id)
        conversation = await session.get(Conversation, chat.conversation_id)
    assert [e.kind for e in events] == ["session.opened", "session.closed", "session.opened"]
    assert conversation is not None
    assert (conversation.bitrix_session_id, conversation.state) == (11, ConversationState.OPEN)


async def test_malformed_event_is_failed_with_the_reason(
    relay: Relay, files: OperatorFiles, chat: Chat
) -> None:
    payload = message_add(chat, 1, "x")
    del payload["data"]["MESSAGES"][0]["im"]
    event_id = await apply(relay, files, chat, payload, "bad")
    row = await inbox_row(relay, event_id)
    assert row.status == InboxStatus.FAILED and row.error and "im" in row.error
    assert (await counts(relay.database)).messages == 0


async def test_message_for_an_unknown_chat_is_skipped(relay: Relay, files: OperatorFiles, chat: Chat) -> None:
    payload = message_add(chat, 1, "x")
    payload["data"]["MESSAGES"][0]["chat"]["id"] = "c-nobody"
    event_id = await apply(relay, files, chat, payload, "nobody")
    assert (await inbox_row(relay, event_id)).status == InboxStatus.PROCESSED
    assert (await counts(relay.database)).messages == 0


async def test_system_message_without_author(relay: Relay, files: OperatorFiles, chat: Chat) -> None:
    await apply(relay, files, chat, message_add(chat, 900, "Session closed", user_id="0"), "sys")
    async with relay.database.transaction() as session:
        stored = await session.scalar(select(Message).where(Message.bitrix_message_id == 900))
    assert stored is not None and stored.direction.value == "system" and stored.author_name is None


async def test_consumer_claims_only_message_and_dialog_events(
    relay: Relay, files: OperatorFiles, chat: Chat
) -> None:
    status_delete = form("ONIMCONNECTORSTATUSDELETE", {"connector": "c", "line": "1"})
    async with relay.database.transaction() as session:
        lifecycle_id = await inbox.record(
            session, chat.portal_id, "ONIMCONNECTORSTATUSDELETE", "sd", status_delete, utc_now()
        )
        await inbox.record(
            session, chat.portal_id, "ONIMCONNECTORMESSAGEADD", "add", message_add(chat, 1, "hi"), utc_now()
        )
    consumer = MessagingInbox(relay, files, asyncio.Event())
    assert await consumer.process_once() == 1
    assert await consumer.process_once() == 0
    assert lifecycle_id is not None
    assert (await inbox_row(relay, lifecycle_id)).status == InboxStatus.PENDING  # the lifecycle processor's
    assert (await counts(relay.database)).messages == 1


async def _record_all(relay: Relay, chat: Chat, payloads: list[tuple[str, dict[str, Any]]]) -> list[int]:
    ids = []
    async with relay.database.transaction() as session:
        for key, payload in payloads:
            event_id = await inbox.record(session, chat.portal_id, payload["event"], key, payload, utc_now())
            assert event_id is not None
            ids.append(event_id)
    return ids


async def test_a_batch_is_applied_in_order(relay: Relay, files: OperatorFiles, chat: Chat) -> None:
    malformed = message_add(chat, 3, "x")
    del malformed["data"]["MESSAGES"][0]["im"]
    ids = await _record_all(
        relay,
        chat,
        [
            ("a1", message_add(chat, 1, "[b]Klaus:[/b][br]First")),
            ("a2", message_add(chat, 2, "[b]Klaus:[/b][br]Second")),
            ("bad", malformed),
            ("a1-again", message_add(chat, 1, "[b]Klaus:[/b][br]First")),  # redelivered: no second message
            ("a4", message_add(chat, 4, "[b]Klaus:[/b][br]Third")),
        ],
    )
    published: list[str] = []
    async with relay.notifier.fanout.subscribe(chat.conversation_id) as subscription:
        consumer = MessagingInbox(relay, files, asyncio.Event())
        assert await consumer.process_once() == 5
        async with asyncio.timeout(5):
            async for text in subscription:
                published.append(text)
                if len(published) == 3:
                    break
    statuses = [(await inbox_row(relay, event_id)).status for event_id in ids]
    assert statuses == [InboxStatus.PROCESSED] * 2 + [InboxStatus.FAILED] + [InboxStatus.PROCESSED] * 2
    async with relay.database.transaction() as session:
        events = await list_events(session, chat.conversation_id)
    assert [e.payload["message"]["text"] for e in events] == ["First", "Second", "Third"]
    assert [e.seq for e in events] == [1, 2, 3]
    assert (await counts(relay.database)).messages == 3
    assert all(f'"seq":{seq}' in text for seq, text in zip((1, 2, 3), published, strict=True))


async def test_a_reclaimed_event_rolls_the_batch_back_and_the_rest_is_applied_alone(
    relay: Relay, files: OperatorFiles, chat: Chat
) -> None:
    ids = await _record_all(
        relay, chat, [(f"a{n}", message_add(chat, n, f"[b]Klaus:[/b][br]Message {n}")) for n in (1, 2, 3)]
    )
    async with relay.database.transaction() as session:
        claimed = await inbox.claim(session, OWNER, utc_now())
        # the second event's claim expired and another processor took it (and will apply it itself)
        taken = update(InboxEvent).where(InboxEvent.id == ids[1]).values(locked_by="someone-else")
        await session.execute(taken)
    await operator_inbound.process_batch(relay, files, claimed, OWNER)
    statuses = [(await inbox_row(relay, event_id)).status for event_id in ids]
    assert statuses == [InboxStatus.PROCESSED, InboxStatus.PROCESSING, InboxStatus.PROCESSED]
    async with relay.database.transaction() as session:
        events = await list_events(session, chat.conversation_id)
    # nothing of the rolled-back batch survived: each applied message has exactly one event, seq dense
    assert [(e.seq, e.payload["message"]["text"]) for e in events] == [(1, "Message 1"), (2, "Message 3")]
