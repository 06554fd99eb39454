"""Outbox: work toward Bitrix24, enqueued in the caller's transaction and claimed per portal in order.

Ordering: jobs sharing an ``ordering_key`` (e.g. one conversation) run strictly one after another: a job is
claimable only when no earlier job with its key is still pending, running or parked, so a stuck job blocks
only its own key. Jobs without a key are independent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from openline_bridge.store.models import OutboxJob, OutboxStatus
from openline_bridge.store.upsert import insert_on_conflict

__all__ = [
    "ClaimedJob",
    "Enqueued",
    "claim_due",
    "complete",
    "dead_letter",
    "enqueue",
    "park",
    "resume_parked",
    "retry",
]

_UNFINISHED = (OutboxStatus.PENDING, OutboxStatus.RUNNING, OutboxStatus.PARKED)


@dataclass(frozen=True)
class Enqueued:
    """The job for an idempotency key, and whether this call created it."""

    job_id: int
    created: bool


@dataclass(frozen=True)
class ClaimedJob:
    """A job claimed by a dispatcher; ``attempts`` counts this attempt."""

    id: int
    portal_id: int
    kind: str
    payload: dict[str, Any]
    ordering_key: str | None
    idempotency_key: str
    attempts: int


async def enqueue(
    session: AsyncSession,
    portal_id: int,
    kind: str,
    payload: dict[str, Any],
    idempotency_key: str,
    now: datetime,
    *,
    ordering_key: str | None = None,
    not_before: datetime | None = None,
) -> Enqueued:
    """Add a job in the caller's transaction; a second call with the same (portal, key) changes nothing."""
    statement = (
        insert_on_conflict(session, OutboxJob)
        .values(
            portal_id=portal_id,
            kind=kind,
            payload=payload,
            ordering_key=ordering_key,
            idempotency_key=idempotency_key,
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=not_before or now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[OutboxJob.portal_id, OutboxJob.idempotency_key])
        .returning(OutboxJob.id)
    )
    created = (await session.execute(statement)).scalar()
    if created is not None:
        return Enqueued(created, True)
    existing = await session.scalar(
        select(OutboxJob.id).where(
            OutboxJob.portal_id == portal_id, OutboxJob.idempotency_key == idempotency_key
        )
    )
    assert existing is not None, "the conflicting row exists in this transaction's snapshot"
    return Enqueued(existing, False)


def _claimable(now: datetime) -> ColumnElement[bool]:
    earlier = aliased(OutboxJob)
    blocked_by_earlier = exists().where(
        earlier.portal_id == OutboxJob.portal_id,
        earlier.ordering_key == OutboxJob.ordering_key,
        earlier.id < OutboxJob.id,
        earlier.status.in_(_UNFINISHED),
    )
    due = or_(
        and_(OutboxJob.status == OutboxStatus.PENDING, OutboxJob.next_attempt_at <= now),
        # a dispatcher died holding it: take it over
        and_(OutboxJob.status == OutboxStatus.RUNNING, OutboxJob.locked_until <= now),
    )
    return and_(due, ~blocked_by_earlier)


async def claim_due(
    session: AsyncSession,
    portal_id: int,
    owner: str,
    now: datetime,
    *,
    limit: int = 50,
    lock_for: timedelta = timedelta(minutes=2),
) -> list[ClaimedJob]:
    """Claim up to ``limit`` due jobs of one portal, oldest first, for ``owner`` until ``now + lock_for``."""
    candidates = (
        select(OutboxJob.id)
        .where(OutboxJob.portal_id == portal_id, _claimable(now))
        .order_by(OutboxJob.id)
        .limit(limit)
        .with_for_update(
            skip_locked=True
        )  # no-op on SQLite, where BEGIN IMMEDIATE already serialises writers
    )
    rows = await session.scalars(
        update(OutboxJob)
        .where(OutboxJob.id.in_(candidates.scalar_subquery()))
        .values(
            status=OutboxStatus.RUNNING,
            attempts=OutboxJob.attempts + 1,
            locked_by=owner,
            locked_until=now + lock_for,
        )
        .returning(OutboxJob)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    jobs = [
        ClaimedJob(
            row.id, row.portal_id, row.kind, row.payload, row.ordering_key, row.idempotency_key, row.attempts
        )
        for row in rows
    ]
    return sorted(jobs, key=lambda job: job.id)


async def _settle(session: AsyncSession, job_id: int, owner: str, values: dict[str, Any]) -> bool:
    result = await session.execute(
        update(OutboxJob)
        .where(OutboxJob.id == job_id, OutboxJob.status == OutboxStatus.RUNNING, OutboxJob.locked_by == owner)
        .values(locked_by=None, locked_until=None, **values)
        .returning(OutboxJob.id)
    )
    return result.scalar() is not None


async def complete(session: AsyncSession, job_id: int, owner: str, now: datetime) -> bool:
    """Mark a claimed job done; False if ``owner`` lost the claim (the job was taken over)."""
    return await _settle(session, job_id, owner, {"status": OutboxStatus.DONE, "finished_at": now})


async def retry(
    session: AsyncSession, job_id: int, owner: str, error: str, next_attempt_at: datetime
) -> bool:
    """Put a claimed job back for a later attempt, keeping the error; False if ``owner`` lost the claim."""
    return await _settle(
        session,
        job_id,
        owner,
        {"status": OutboxStatus.PENDING, "last_error": error, "next_attempt_at": next_attempt_at},
    )


async def dead_letter(session: AsyncSession, job_id: int, owner: str, reason: str, now: datetime) -> bool:
    """Give up on a claimed job for good, with the reason shown; False if ``owner`` lost the claim."""
    return await _settle(
        session, job_id, owner, {"status": OutboxStatus.DEAD, "dead_reason": reason, "finished_at": now}
    )


async def park(session: AsyncSession, job_id: int, owner: str, reason: str) -> bool:
    """Hold a claimed job until :func:`resume_parked` (e.g. ``NOT_ACTIVE_LINE``); its key stays blocked."""
    return await _settle(session, job_id, owner, {"status": OutboxStatus.PARKED, "last_error": reason})


async def resume_parked(session: AsyncSession, portal_id: int, now: datetime) -> int:
    """Make every parked job of a portal due again; return how many."""
    result = await session.execute(
        update(OutboxJob)
        .where(OutboxJob.portal_id == portal_id, OutboxJob.status == OutboxStatus.PARKED)
        .values(status=OutboxStatus.PENDING, next_attempt_at=now)
        .returning(OutboxJob.id)
    )
    return len(result.all())
