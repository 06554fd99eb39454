"""Inbox: Bitrix24 events recorded on arrival, de-duplicated per portal, processed later (pitfall P9)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.store.models import InboxEvent, InboxStatus
from openline_bridge.store.statements import PerDialect
from openline_bridge.store.tables import table_of
from openline_bridge.store.upsert import insert_on_conflict

__all__ = [
    "InboxItem",
    "NewInboxEvent",
    "abandon_pending",
    "claim",
    "mark_failed",
    "mark_processed",
    "mark_processed_many",
    "record",
    "record_many",
]


@dataclass(frozen=True)
class InboxItem:
    """A claimed event, ready to process."""

    id: int
    portal_id: int
    event_name: str
    dedup_key: str
    payload: dict[str, Any]
    received_at: datetime


async def record(
    session: AsyncSession,
    portal_id: int,
    event_name: str,
    dedup_key: str,
    payload: dict[str, Any],
    now: datetime,
) -> int | None:
    """Store an event; return its id, or None when (portal, dedup_key) was already recorded (a no-op)."""
    statement = (
        insert_on_conflict(session, InboxEvent)
        .values(
            portal_id=portal_id,
            event_name=event_name,
            dedup_key=dedup_key,
            payload=payload,
            status=InboxStatus.PENDING,
            received_at=now,
        )
        .on_conflict_do_nothing(index_elements=[InboxEvent.portal_id, InboxEvent.dedup_key])
        .returning(InboxEvent.id)
    )
    inserted: int | None = (await session.execute(statement)).scalar()
    return inserted


@dataclass(frozen=True)
class NewInboxEvent:
    """An event to record (see :func:`record_many`)."""

    portal_id: int
    event_name: str
    dedup_key: str
    payload: dict[str, Any]


def _new_events(session: AsyncSession) -> Any:
    table = table_of(InboxEvent)
    return (
        insert_on_conflict(session, table)
        .on_conflict_do_nothing(index_elements=[table.c.portal_id, table.c.dedup_key])
        .returning(table.c.portal_id, table.c.dedup_key)
    )


_NEW_EVENTS = PerDialect(_new_events)


async def record_many(
    session: AsyncSession, events: Sequence[NewInboxEvent], now: datetime
) -> set[tuple[int, str]]:
    """Store several events in one statement; the ``(portal_id, dedup_key)`` pairs actually inserted.

    A pair already recorded, or repeated within ``events``, is inserted once and otherwise a no-op.
    """
    if not events:
        return set()
    inserted = await session.execute(
        _NEW_EVENTS(session),
        [
            {
                "portal_id": event.portal_id,
                "event_name": event.event_name,
                "dedup_key": event.dedup_key,
                "payload": event.payload,
                "status": InboxStatus.PENDING,
                "received_at": now,
            }
            for event in events
        ],
    )
    return {(row.portal_id, row.dedup_key) for row in inserted}


async def claim(
    session: AsyncSession,
    owner: str,
    now: datetime,
    *,
    limit: int = 50,
    lock_for: timedelta = timedelta(minutes=1),
    portal_id: int | None = None,
    skip_event_names: Collection[str] = (),
    only_event_names: Collection[str] = (),
) -> list[InboxItem]:
    """Claim up to ``limit`` unprocessed events, oldest first, for ``owner`` until ``now + lock_for``.

    Events claimed by a processor that did not finish in time are claimable again. Events named in
    ``skip_event_names`` are left alone (another processor owns them); a non-empty ``only_event_names``
    claims just those.
    """
    candidates = (
        select(InboxEvent.id)
        .where(
            or_(
                InboxEvent.status == InboxStatus.PENDING,
                (InboxEvent.status == InboxStatus.PROCESSING) & (InboxEvent.locked_until <= now),
            )
        )
        .order_by(InboxEvent.id)
        .limit(limit)
        .with_for_update(
            skip_locked=True
        )  # no-op on SQLite, where BEGIN IMMEDIATE already serialises writers
    )
    if portal_id is not None:
        candidates = candidates.where(InboxEvent.portal_id == portal_id)
    if skip_event_names:
        candidates = candidates.where(InboxEvent.event_name.not_in(list(skip_event_names)))
    if only_event_names:
        candidates = candidates.where(InboxEvent.event_name.in_(list(only_event_names)))
    rows = await session.scalars(
        update(InboxEvent)
        .where(InboxEvent.id.in_(candidates.scalar_subquery()))
        .values(status=InboxStatus.PROCESSING, locked_by=owner, locked_until=now + lock_for)
        .returning(InboxEvent)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    items = [
        InboxItem(row.id, row.portal_id, row.event_name, row.dedup_key, row.payload, row.received_at)
        for row in rows
    ]
    return sorted(items, key=lambda item: item.id)


async def _finish(
    session: AsyncSession,
    event_ids: Sequence[int],
    owner: str,
    status: InboxStatus,
    now: datetime,
    error: str | None,
) -> bool:
    """Finish claimed events; False unless ``owner`` still held every one of them."""
    result = await session.execute(
        update(InboxEvent)
        .where(
            InboxEvent.id.in_(event_ids),
            InboxEvent.status == InboxStatus.PROCESSING,
            InboxEvent.locked_by == owner,
        )
        .values(status=status, processed_at=now, error=error, locked_by=None, locked_until=None)
        .returning(InboxEvent.id)
        # no loaded InboxEvent needs refreshing (callers hold InboxItem copies), and the ORM's check of the
        # session for such rows costs more than the statement on the inbox's hot path
        .execution_options(synchronize_session=False)
    )
    return len(result.all()) == len(set(event_ids))


async def mark_processed(session: AsyncSession, event_id: int, owner: str, now: datetime) -> bool:
    """Finish a claimed event; False if ``owner`` no longer holds its claim (someone else reclaimed it)."""
    return await _finish(session, [event_id], owner, InboxStatus.PROCESSED, now, None)


async def mark_processed_many(
    session: AsyncSession, event_ids: Sequence[int], owner: str, now: datetime
) -> bool:
    """Finish several claimed events in one statement; False if ``owner`` no longer holds every claim."""
    return not event_ids or await _finish(session, event_ids, owner, InboxStatus.PROCESSED, now, None)


async def mark_failed(session: AsyncSession, event_id: int, owner: str, error: str, now: datetime) -> bool:
    """Give up on a claimed event with the reason; False if ``owner`` no longer holds its claim."""
    return await _finish(session, [event_id], owner, InboxStatus.FAILED, now, error)


async def abandon_pending(session: AsyncSession, portal_id: int, reason: str, now: datetime) -> int:
    """Fail every not yet claimed event of a portal (e.g. it uninstalled the app); how many."""
    result = await session.execute(
        update(InboxEvent)
        .where(InboxEvent.portal_id == portal_id, InboxEvent.status == InboxStatus.PENDING)
        .values(status=InboxStatus.FAILED, error=reason, processed_at=now)
        .returning(InboxEvent.id)
    )
    return len(result.all())
