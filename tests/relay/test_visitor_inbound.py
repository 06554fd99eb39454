"""Visitor → Bitrix24 use-cases on both databases: idempotent accept in one transaction, edits, deletes,
read receipts and profile changes, each with its conversation events and outbox jobs."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from sqlalchemy import select
from tests.relay.conftest import Chat, counts, job_kinds

from openline_bridge.relay import visitor_inbound
from openline_bridge.relay.context import Relay
from openline_bridge.relay.errors import (
    AttachmentInUse,
    EmptyMessage,
    MessageNotEditable,
    MessageTooLong,
    NotFound,
    RelayError,
    TooManyAttachments,
)
from openline_bridge.relay.status import Failure, change_status
from openline_bridge.store import messages
from openline_bridge.store.attachments import NewAttachment, add
from openline_bridge.store.conversation_events import list_events
from openline_bridge.store.messages import NewOperatorMessage
from openline_bridge.store.models import Conversation, MessageDirection, MessageStatus, OutboxJob
from openline_bridge.store.types import utc_now


async def test_accept_stores_message_event_and_job(relay: Relay, chat: Chat, collected: list[str]) -> None:
    posted = await visitor_inbound.accept_message(relay, chat.conversation_id, "c-1", "  Hello\r\nthere  ")
    assert posted.created and posted.seq == 1
    assert posted.message["text"] == "Hello\nthere"
    assert posted.message["status"] == "queued" and posted.message["direction"] == "visitor"
    assert posted.message["author"]["name"] == "Anna"
    assert await job_kinds(relay.database) == ["send_message"]
    async with relay.database.transaction() as session:
        job = await session.scalar(select(OutboxJob))
        assert job is not None
        assert job.payload == {"message_id": int(posted.message["id"])}
        assert job.ordering_key == f"conversation:{chat.conversation_id}"
    await asyncio.sleep(0.05)
    assert [orjson.loads(e)["kind"] for e in collected] == ["message.created"]


async def test_repeated_client_message_id_returns_stored_message(relay: Relay, chat: Chat) -> None:
    first = await visitor_inbound.accept_message(relay, chat.conversation_id, "c-1", "Hello")
    again = await visitor_inbound.accept_message(relay, chat.conversation_id, "c-1", "different body")
    assert not again.created
    assert again.message["id"] == first.message["id"] and again.seq == first.seq
    assert again.message["text"] == "Hello"
    found = await counts(relay.database)
    assert (found.messages, found.events, found.jobs) == (1, 1, 1)


async def test_concurrent_duplicates_store_one_message(relay: Relay, chat: Chat) -> None:
    results = await asyncio.gather(
        *(visitor_inbound.accept_message(relay, chat.conversation_id, "same", "Hi") for _ in range(5))
    )
    assert len({r.message["id"] for r in results}) == 1
    assert sum(r.created for r in results) == 1
    found = await counts(relay.database)
    assert (found.messages, found.events, found.jobs) == (1, 1, 1)


async def test_failure_in_the_middle_leaves_nothing(relay: Relay, chat: Chat) -> None:
    # The attachment id is checked after the message row is inserted: the whole transaction rolls back.
    with pytest.raises(NotFound):
        await visitor_inbound.accept_message(relay, chat.conversation_id, "c-1", "Hello", ["999999"])
    found = await counts(relay.database)
    assert (found.messages, found.events, found.jobs) == (0, 0, 0)
    async with relay.database.transaction() as session:
        conversation = await session.get(Conversation, chat.conversation_id)
        assert conversation is not None and conversation.last_seq == 0


@pytest.mark.parametrize(
    ("text", "ids", "error"),
    [
        ("   ", [], EmptyMessage),
        ("x" * 10_001, [], MessageTooLong),
        ("hi", ["1", "2", "3", "4"], TooManyAttachments),
        ("hi", ["not-an-id"], NotFound),
    ],
)
async def test_invalid_messages_are_refused(
    relay: Relay, chat: Chat, text: str, ids: list[str], error: type[RelayError]
) -> None:
    with pytest.raises(error):
        await visitor_inbound.accept_message(relay, chat.conversation_id, "c-1", text, ids)
    assert (await counts(relay.database)).messages == 0


async def test_bad_client_message_id_is_a_validation_error(relay: Relay, chat: Chat) -> None:
    with pytest.raises(RelayError) as caught:
        await visitor_inbound.accept_message(relay, chat.conversation_id, "has space", "hi")
    assert caught.value.code == "validation_error"


async def _upload(relay: Relay, chat: Chat) -> str:
    async with relay.database.transaction() as session:
        attachment = await add(
            session,
            NewAttachment(
                conversation_id=chat.conversation_id, name="a.png", mime_type="image/png", size_bytes=3
            ),
            utc_now(),
        )
        return str(attachment.id)


async def test_attachments_are_bound_once(relay: Relay, chat: Chat) -> None:
    attachment_id = await _upload(relay, chat)
    posted = await visitor_inbound.accept_message(relay, chat.conversation_id, "c-1", "", [attachment_id])
    assert [a["id"] for a in posted.message["attachments"]] == [attachment_id]
    with pytest.raises(AttachmentInUse):
        await visitor_inbound.accept_message(relay, chat.conversation_id, "c-2", "again", [attachment_id])


async def test_failed_message_replay_requeues_it(relay: Relay, chat: Chat) -> None:
    posted = await visitor_inbound.accept_message(relay, chat.conversation_id, "c-1", "Hello")
    async with relay.database.transaction() as session:
        message = await messages.get(session, int(posted.message["id"]))
        await change_status(session, message, MessageStatus.FAILED, failure=Failure("rejected", "no"))
    replay = await visitor_inbound.accept_message(relay, chat.conversation_id, "c-1", "Hello")
    assert replay.message["status"] == "queued" and replay.message["failure"] is None
    assert await job_kinds(relay.database) == ["send_message", "send_message"]
    async with relay.database.transaction() as session:
        kinds = [e.kind for e in await list_events(session, chat.conversation_id)]
    assert kinds == ["message.created", "message.status", "message.status"]


async def test_edit_and_delete_own_message(relay: Relay, chat: Chat) -> None:
    posted = await visitor_inbound.accept_message(relay, chat.conversation_id, "c-1", "Helo")
    message_id = posted.message["id"]
    edited = await visitor_inbound.edit_message(relay, chat.conversation_id, message_id, "Hello")
    assert edited.seq == 2 and edited.message["text"] == "Hello" and edited.message["edited_at"] is not None
    unchanged = await visitor_inbound.edit_message(relay, chat.conversation_id, message_id, "Hello")
    assert unchanged.seq is None
    deleted = await visitor_inbound.delete_message(relay, chat.conversation_id, message_id)
    assert deleted.seq == 3 and deleted.message["deleted"] and deleted.message["text"] == ""
    again = await visitor_inbound.delete_message(relay, chat.conversation_id, message_id)
    assert again.seq is None
    with pytest.raises(MessageNotEditable):
        await visitor_inbound.edit_message(relay, chat.conversation_id, message_id, "zombie")
    assert await job_kinds(relay.database) == ["send_message", "update_message", "delete_message"]


async def _operator_message(relay: Relay, chat: Chat, bitrix_id: int, seq: int) -> int:
    async with relay.database.transaction() as session:
        stored = await messages.insert_operator_message(
            session,
            NewOperatorMessage(
                chat.portal_id,
                chat.conversation_id,
                MessageDirection.FROM_OPERATOR,
                bitrix_id,
                7,
                "Klaus",
                "Hi",
                {},
            ),
            utc_now(),
        )
        assert stored is not None
        stored.created_seq = seq
        return stored.id


async def test_operator_messages_cannot_be_changed_by_the_visitor(relay: Relay, chat: Chat) -> None:
    operator_id = await _operator_message(relay, chat, 501, 0)
    with pytest.raises(MessageNotEditable):
        await visitor_inbound.edit_message(relay, chat.conversation_id, str(operator_id), "mine now")
    with pytest.raises(MessageNotEditable):
        await visitor_inbound.delete_message(relay, chat.conversation_id, str(operator_id))
    with pytest.raises(NotFound):
        await visitor_inbound.delete_message(relay, chat.conversation_id + 1, str(operator_id))


async def test_read_receipt_marks_operator_messages_read(relay: Relay, chat: Chat) -> None:
    await visitor_inbound.accept_message(relay, chat.conversation_id, "c-1", "Hello")  # seq 1
    first = await _operator_message(relay, chat, 601, 1)
    second = await _operator_message(relay, chat, 602, 5)
    assert await visitor_inbound.mark_read(relay, chat.conversation_id, 3) == 1  # capped at last_seq
    async with relay.database.transaction() as session:
        assert (await messages.get(session, first)).status == MessageStatus.READ
        assert (await messages.get(session, second)).status == MessageStatus.DELIVERED
        kinds = [e.kind for e in await list_events(session, chat.conversation_id)]
    assert kinds == ["message.created", "message.status", "conversation.read"]
    assert await job_kinds(relay.database) == ["send_message", "confirm_reading"]
    assert await visitor_inbound.mark_read(relay, chat.conversation_id, 1) == 1  # never moves back
    assert await job_kinds(relay.database) == ["send_message", "confirm_reading"]


async def test_profile_name_change_renames_the_chat(relay: Relay, chat: Chat) -> None:
    profile = await visitor_inbound.change_profile(
        relay, chat.visitor_id, name="  Bob ", email="bob@example.com"
    )
    assert (profile.name, profile.email, profile.identified) == ("Bob", "bob@example.com", False)
    assert await job_kinds(relay.database) == ["set_chat_name"]
    same = await visitor_inbound.change_profile(relay, chat.visitor_id, name="Bob")
    assert same.email == "bob@example.com"
    assert await job_kinds(relay.database) == ["set_chat_name"]
    cleared = await visitor_inbound.change_profile(relay, chat.visitor_id, email=None)
    assert cleared.email is None and cleared.name == "Bob"
    with pytest.raises(RelayError):
        await visitor_inbound.change_profile(relay, chat.visitor_id, email="not an email")
