"""Storing visitor messages a group-committed batch at a time, in a fixed number of statements per batch.

``visitor_inbound.accept_message`` validates a message and submits it to ``relay.visitor_writes``; the
messages that arrive while a transaction is in flight form the next batch, and :func:`store_batch` writes
it in that one transaction: one query locks the conversations and reads their portals and visitor names,
one finds the ``client_message_id`` already taken, one reserves the ``seq`` of every ``message.created``
event, one inserts the new messages, one their events and one their outbox jobs. Only a message with
attachments, or the repeat of a stored one, costs statements of its own. Everything commits before any
message is acknowledged (ARCHITECTURE.md flow 3); a message that fails makes the group commit write the
others again without it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.errors import NotFoundError
from openline_bridge.relay.errors import AttachmentInUse, NotFound
from openline_bridge.relay.serialize import message_json
from openline_bridge.relay.status import change_status
from openline_bridge.relay.views import message_view
from openline_bridge.store import attachments, conversations, messages, outbox
from openline_bridge.store.attachments import AttachmentInUse as StoredAttachmentInUse
from openline_bridge.store.conversation_events import AppendedEvent, record_events, reserve_seqs
from openline_bridge.store.messages import NewVisitorMessage
from openline_bridge.store.models import Message, MessageStatus
from openline_bridge.store.outbox import NewJob
from openline_bridge.worker import jobs

__all__ = ["Posted", "VisitorMessage", "store_batch"]

_Key = tuple[int, str]  # (conversation_id, client_message_id): a visitor message's idempotency key


@dataclass(frozen=True)
class VisitorMessage:
    """A validated visitor message waiting for its batch: normalised text, parsed attachment ids."""

    conversation_id: int
    client_message_id: str
    text: str
    attachment_ids: tuple[int, ...] = ()

    @property
    def key(self) -> _Key:
        """Its idempotency key."""
        return (self.conversation_id, self.client_message_id)


@dataclass(frozen=True)
class Posted:
    """A message as the visitor's request left it, and the ``seq`` of the event it caused (None: no event)."""

    message: dict[str, Any]
    seq: int | None
    created: bool = False


async def store_batch(session: AsyncSession, batch: Sequence[VisitorMessage], now: datetime) -> list[Posted]:
    """Store each message with its ``message.created`` event and ``send_message`` job; one outcome each.

    A ``client_message_id`` already stored, or repeated within the batch, returns the stored message with
    its original ``seq`` and enqueues nothing, except that a repeat of a failed message re-queues it
    (protocol §6.3, the client's retry). Raises if any message cannot be stored (unknown conversation,
    attachment missing or taken); the caller then stores the others without it.
    """
    authors = await conversations.lock_for_visitor_messages(
        session, {message.conversation_id for message in batch}
    )
    for message in batch:
        if message.conversation_id not in authors:
            raise NotFoundError(f"no conversation {message.conversation_id}")
    stored = await messages.find_by_client_ids(session, {message.key for message in batch})
    new: dict[_Key, VisitorMessage] = {}  # the first copy of each free key, in arrival order
    for message in batch:
        if message.key not in stored:
            new.setdefault(message.key, message)
    next_seq = await reserve_seqs(session, Counter(key[0] for key in new), now)
    seqs: dict[_Key, int] = {}
    for key in new:
        seqs[key] = next_seq[key[0]]
        next_seq[key[0]] += 1
    inserted = await messages.insert_visitor_messages(
        session,
        [
            NewVisitorMessage(
                portal_id=authors[message.conversation_id].portal_id,
                conversation_id=message.conversation_id,
                client_message_id=message.client_message_id,
                author_name=authors[message.conversation_id].visitor_name,
                text=message.text,
                created_seq=seqs[key],
            )
            for key, message in new.items()
        ],
        now,
    )
    views = {key: await _created_view(session, inserted[key], message) for key, message in new.items()}
    await record_events(
        session,
        [AppendedEvent(key[0], seqs[key], "message.created", {"message": views[key]}, now) for key in new],
    )
    await outbox.enqueue_many(session, [_send_job(inserted[key]) for key in new], now)
    posted: list[Posted] = []
    answered: set[_Key] = set()
    for message in batch:
        if message.key in new and message.key not in answered:
            posted.append(Posted(views[message.key], seqs[message.key], created=True))
        else:
            posted.append(await _repeated(session, stored.get(message.key) or inserted[message.key], now))
        answered.add(message.key)
    return posted


def _send_job(message: Message) -> NewJob:
    # The job jobs.send_message adds for a new message (kind, payload, key, ordering), as a row to add with
    # the batch's others; tests/relay/test_visitor_batches.py checks that the two agree.
    kind = jobs.JobKind.SEND_MESSAGE.value
    return NewJob(
        portal_id=message.portal_id,
        kind=kind,
        payload={"message_id": message.id},
        idempotency_key=f"{kind}:{message.id}",
        ordering_key=jobs.conversation_ordering_key(message.conversation_id),
    )


async def _created_view(session: AsyncSession, stored: Message, message: VisitorMessage) -> dict[str, Any]:
    # A new message has exactly the files just bound: no attachment query when there are none.
    if not message.attachment_ids:
        return message_json(stored, [])
    try:
        await attachments.bind_to_message(session, message.conversation_id, message.attachment_ids, stored.id)
    except NotFoundError as exc:
        raise NotFound(str(exc)) from exc
    except StoredAttachmentInUse as exc:
        raise AttachmentInUse(str(exc)) from exc
    return await message_view(session, stored)


async def _repeated(session: AsyncSession, message: Message, now: datetime) -> Posted:
    if message.status == MessageStatus.FAILED:
        seq = await change_status(session, message, MessageStatus.QUEUED, now=now)
        assert seq is not None, "failed → queued is always allowed"
        await jobs.send_message(
            session,
            portal_id=message.portal_id,
            conversation_id=message.conversation_id,
            message_id=message.id,
            revision=f"retry-{seq}",
            now=now,
        )
    return Posted(await message_view(session, message), message.created_seq)
