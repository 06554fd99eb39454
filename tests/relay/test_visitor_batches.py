"""The multi-row write path of visitor messages (``relay.visitor_messages``) on both databases: idempotency
within and across batches, one bad message failing alone, and a dense, monotonic ``seq`` per conversation."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.relay.conftest import Chat, counts, make_chat

from openline_bridge.errors import NotFoundError
from openline_bridge.relay.context import Relay
from openline_bridge.relay.visitor_messages import Posted, VisitorMessage, store_batch
from openline_bridge.store.conversation_events import list_events
from openline_bridge.store.group_commit import Failed, shared_transaction
from openline_bridge.store.models import Message
from openline_bridge.store.portals import PortalRecord
from openline_bridge.worker import jobs


async def write(relay: Relay, batch: list[VisitorMessage]) -> list[Posted | Failed]:
    """Write ``batch`` as the group commit writes one batch."""

    async def store(session: AsyncSession, items: list[VisitorMessage]) -> list[Posted]:
        return await store_batch(session, items, relay.clock())

    writer = shared_transaction(lambda: relay.notifier.transaction(relay.database), store)
    return list(await writer(batch))


def posted(outcome: Posted | Failed) -> Posted:
    """The outcome, which must be a stored message."""
    assert isinstance(outcome, Posted), outcome
    return outcome


async def test_a_key_repeated_in_one_batch_returns_the_stored_message(relay: Relay, chat: Chat) -> None:
    first, repeat, other = (
        posted(outcome)
        for outcome in await write(
            relay,
            [
                VisitorMessage(chat.conversation_id, "same", "first"),
                VisitorMessage(chat.conversation_id, "same", "second text, same key"),
                VisitorMessage(chat.conversation_id, "other", "other"),
            ],
        )
    )
    assert first.created and not repeat.created and other.created
    assert repeat.message["id"] == first.message["id"] and repeat.seq == first.seq == 1
    assert repeat.message["text"] == "first"
    assert other.seq == 2
    found = await counts(relay.database)
    assert (found.messages, found.events, found.jobs) == (2, 2, 2)


async def test_a_key_repeated_in_a_later_batch_changes_nothing(relay: Relay, chat: Chat) -> None:
    stored = posted((await write(relay, [VisitorMessage(chat.conversation_id, "k1", "hello")]))[0])
    again, new = (
        posted(outcome)
        for outcome in await write(
            relay,
            [
                VisitorMessage(chat.conversation_id, "k1", "hello again"),
                VisitorMessage(chat.conversation_id, "k2", "new"),
            ],
        )
    )
    assert not again.created and again.message["id"] == stored.message["id"] and again.seq == 1
    assert new.created and new.seq == 2
    found = await counts(relay.database)
    assert (found.messages, found.events, found.jobs) == (2, 2, 2)


async def test_one_bad_message_fails_alone(relay: Relay, chat: Chat) -> None:
    good, unknown, missing_file, last = await write(
        relay,
        [
            VisitorMessage(chat.conversation_id, "a", "good"),
            VisitorMessage(chat.conversation_id + 1000, "b", "no such conversation"),
            VisitorMessage(chat.conversation_id, "c", "file", (999_999,)),
            VisitorMessage(chat.conversation_id, "d", "last"),
        ],
    )
    assert isinstance(unknown, Failed) and isinstance(unknown.error, NotFoundError)
    assert isinstance(missing_file, Failed)
    assert [posted(good).seq, posted(last).seq] == [1, 2]
    found = await counts(relay.database)
    assert (found.messages, found.events, found.jobs) == (2, 2, 2)


async def test_seq_is_dense_and_follows_arrival_per_conversation(
    relay: Relay, chat: Chat, installed_portal: PortalRecord
) -> None:
    second = await make_chat(relay.database, installed_portal.id, bitrix_line_id=2)
    conversations = [chat.conversation_id, second.conversation_id]
    for batch in range(2):
        await write(
            relay,
            [VisitorMessage(conversations[n % 2], f"b{batch}-{n}", f"message {n}") for n in range(7)],
        )
    async with relay.database.transaction() as session:
        for conversation_id in conversations:
            events = await list_events(session, conversation_id)
            assert [event.seq for event in events] == list(range(1, len(events) + 1))
            rows = list(
                await session.scalars(
                    select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
                )
            )
            assert [row.created_seq for row in rows] == [event.seq for event in events]
            texts = [event.payload["message"]["client_message_id"] for event in events]
            assert texts == [row.client_message_id for row in rows]
    assert (await counts(relay.database)).events == 14


async def test_the_batch_adds_the_job_send_message_would_add(relay: Relay, chat: Chat) -> None:
    stored = posted((await write(relay, [VisitorMessage(chat.conversation_id, "j", "job")]))[0])
    async with relay.database.transaction() as session:
        again = await jobs.send_message(
            session,
            portal_id=chat.portal_id,
            conversation_id=chat.conversation_id,
            message_id=int(stored.message["id"]),
        )
    assert not again.created
    assert (await counts(relay.database)).jobs == 1
