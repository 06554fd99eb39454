"""Conversation events: the append-only, densely numbered log a visitor's clients catch up from.

``seq`` comes from ``conversations.last_seq``, incremented by one ``UPDATE … RETURNING`` inside the caller's
transaction (docs/protocol.md §4.5; one statement for any number of conversations and events,
:func:`reserve_seqs`): PostgreSQL row-locks the conversations until commit and SQLite's
``BEGIN IMMEDIATE`` serialises writers, so concurrent appends get 1..N without gaps, and a rolled-back
transaction gives its number back.

Every appended event is also remembered on the session (:func:`appended_events`) so the caller can publish
it to live subscribers once the transaction has committed (``relay.notify``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.errors import NotFoundError
from openline_bridge.store.models import Conversation, ConversationEvent
from openline_bridge.store.tables import table_of
from openline_bridge.store.types import utc_now

__all__ = [
    "EVENT_KINDS",
    "AppendedEvent",
    "append_event",
    "appended_events",
    "last_seq",
    "list_events",
    "record_events",
    "reserve_seqs",
]

# docs/protocol.md §4.5: the only kinds a client is told about.
EVENT_KINDS = frozenset(
    {
        "message.created",
        "message.edited",
        "message.deleted",
        "message.status",
        "session.opened",
        "session.closed",
        "conversation.read",
    }
)

_SESSION_KEY = "openline_bridge.appended_events"


@dataclass(frozen=True)
class AppendedEvent:
    """One event of a conversation's log, as stored."""

    conversation_id: int
    seq: int
    kind: str
    payload: dict[str, Any]
    at: datetime


async def reserve_seqs(session: AsyncSession, counts: Mapping[int, int], now: datetime) -> dict[int, int]:
    """Take the next ``counts[c]`` numbers of each conversation ``c``'s log; the first of each.

    One ``UPDATE … RETURNING`` covers every conversation, so a batch of events costs one statement here
    whatever it holds. NotFoundError if a conversation does not exist.
    """
    if not counts:
        return {}
    conversation = table_of(Conversation).c
    rows = await session.execute(
        update(table_of(Conversation))
        .where(conversation.id.in_(list(counts)))
        .values(last_seq=conversation.last_seq + case(dict(counts), value=conversation.id), updated_at=now)
        .returning(conversation.id, conversation.last_seq)
    )
    last = {conversation_id: seq for conversation_id, seq in rows}
    missing = counts.keys() - last.keys()
    if missing:
        raise NotFoundError(f"no conversation {min(missing)}")
    return {conversation_id: last[conversation_id] - count + 1 for conversation_id, count in counts.items()}


_INSERT_EVENTS = insert(table_of(ConversationEvent))


async def record_events(session: AsyncSession, events: Sequence[AppendedEvent]) -> None:
    """Store events whose ``seq`` was taken with :func:`reserve_seqs`, in one statement."""
    for event in events:
        _check_kind(event.kind)
    if not events:
        return
    await session.execute(
        _INSERT_EVENTS,
        [
            {
                "conversation_id": event.conversation_id,
                "seq": event.seq,
                "kind": event.kind,
                "payload": event.payload,
                "created_at": event.at,
            }
            for event in events
        ],
    )
    _pending(session).extend(events)


async def append_event(
    session: AsyncSession,
    conversation_id: int,
    kind: str,
    payload: dict[str, Any],
    *,
    now: datetime | None = None,
) -> int:
    """Append an event in the caller's transaction and return its ``seq`` (dense per conversation)."""
    _check_kind(kind)
    at = now or utc_now()
    seq = (await reserve_seqs(session, {conversation_id: 1}, at))[conversation_id]
    await record_events(session, [AppendedEvent(conversation_id, seq, kind, payload, at)])
    return seq


def _check_kind(kind: str) -> None:
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown conversation event kind {kind!r}")


def appended_events(session: AsyncSession) -> list[AppendedEvent]:
    """The events this session appended so far (publish them only after the transaction commits)."""
    return list(_pending(session))


def _pending(session: AsyncSession) -> list[AppendedEvent]:
    pending: list[AppendedEvent] = session.info.setdefault(_SESSION_KEY, [])
    return pending


async def list_events(
    session: AsyncSession, conversation_id: int, *, after: int = 0, limit: int = 200
) -> list[AppendedEvent]:
    """Events with ``seq > after`` in increasing order, at most ``limit`` (protocol §6.2)."""
    rows = await session.scalars(
        select(ConversationEvent)
        .where(ConversationEvent.conversation_id == conversation_id, ConversationEvent.seq > after)
        .order_by(ConversationEvent.seq)
        .limit(limit)
    )
    return [
        AppendedEvent(row.conversation_id, row.seq, row.kind, row.payload, row.created_at) for row in rows
    ]


async def last_seq(session: AsyncSession, conversation_id: int) -> int:
    """The conversation's latest ``seq`` (0 before its first event)."""
    value = await session.scalar(select(Conversation.last_seq).where(Conversation.id == conversation_id))
    if value is None:
        raise NotFoundError(f"no conversation {conversation_id}")
    return value
