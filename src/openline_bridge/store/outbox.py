"""Outbox: work toward Bitrix24, enqueued in the caller's transaction and claimed per portal in order.

Ordering: jobs sharing an ``ordering_key`` (e.g. one conversation) run strictly one after another: a job is
claimable only when no earlier job with its key is still pending, running or parked, so a stuck job blocks
only its own key. Jobs without a key are independent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from openline_bridge.store.models import CLAIMABLE_STATUSES, InstallState, OutboxJob, OutboxStatus, Portal
from openline_bridge.store.statements import PerDialect
from openline_bridge.store.tables import table_of
from openline_bridge.store.upsert import insert_on_conflict

__all__ = [
    "ClaimedJob",
    "Enqueued",
    "JobRow",
    "NewJob",
    "cancel_uninstalled",
    "claim_candidates",
    "claim_due",
    "complete",
    "count_by_status",
    "dead_letter",
    "delete",
    "enqueue",
    "enqueue_many",
    "list_jobs",
    "mark_maybe_sent",
    "park",
    "parked_reasons",
    "release",
    "requeue",
    "resume_parked",
    "retry",
    "take_over",
]

_UNFINISHED = (OutboxStatus.PENDING, OutboxStatus.RUNNING, OutboxStatus.PARKED)


@dataclass(frozen=True)
class Enqueued:
    """The job for an idempotency key, and whether this call created it."""

    job_id: int
    created: bool


@dataclass(frozen=True)
class ClaimedJob:
    """A job claimed by a dispatcher; ``attempts`` counts this attempt; ``maybe_sent``: an earlier call
    carrying it got no recorded answer, so Bitrix24 may already have it (:func:`mark_maybe_sent`)."""

    id: int
    portal_id: int
    kind: str
    payload: dict[str, Any]
    ordering_key: str | None
    idempotency_key: str
    attempts: int
    maybe_sent: bool = False


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


@dataclass(frozen=True)
class NewJob:
    """A job to add with :func:`enqueue_many` (the arguments :func:`enqueue` takes one at a time)."""

    portal_id: int
    kind: str
    payload: dict[str, Any]
    idempotency_key: str
    ordering_key: str | None = None


def _new_jobs(session: AsyncSession) -> Any:
    table = table_of(OutboxJob)
    return insert_on_conflict(session, table).on_conflict_do_nothing(
        index_elements=[table.c.portal_id, table.c.idempotency_key]
    )


_NEW_JOBS = PerDialect(_new_jobs)


async def enqueue_many(session: AsyncSession, jobs: Sequence[NewJob], now: datetime) -> None:
    """Add jobs in the caller's transaction, in one statement; a (portal, key) already taken is kept."""
    if not jobs:
        return
    await session.execute(
        _NEW_JOBS(session),
        [
            {
                "portal_id": job.portal_id,
                "kind": job.kind,
                "payload": job.payload,
                "ordering_key": job.ordering_key,
                "idempotency_key": job.idempotency_key,
                "status": OutboxStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for job in jobs
        ],
    )


def _due(job: Any, now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(job.status == OutboxStatus.PENDING, job.next_attempt_at <= now),
        # a dispatcher died holding it: take it over
        and_(job.status == OutboxStatus.RUNNING, job.locked_until <= now),
    )


def _claimable(now: datetime, *, runs: bool) -> ColumnElement[bool]:
    earlier = aliased(OutboxJob)

    def no_earlier_job(*condition: ColumnElement[bool]) -> ColumnElement[bool]:
        return ~exists().where(
            earlier.portal_id == OutboxJob.portal_id,
            earlier.ordering_key == OutboxJob.ordering_key,
            earlier.id < OutboxJob.id,
            *condition,
        )

    if runs:
        # An earlier job that is due itself is claimed in the same statement (ids ascend), so only a parked,
        # waiting or still-running one blocks the jobs after it. One test per kind, each an index search: a
        # single "unfinished and not due" test walked every earlier due job of the key, for every candidate,
        # and a backlog of 50,000 jobs made each claim take a second or two.
        unblocked = and_(
            no_earlier_job(earlier.status == OutboxStatus.PARKED),
            no_earlier_job(earlier.status == OutboxStatus.PENDING, earlier.next_attempt_at > now),
            no_earlier_job(earlier.status == OutboxStatus.RUNNING, earlier.locked_until > now),
        )
    else:
        unblocked = no_earlier_job(earlier.status.in_(_UNFINISHED))
    # The status test is implied by _due; stated, in the very words of the partial index of claimable jobs
    # (a bound parameter would not prove the index applies), so that the planner walks that index in id
    # order and stops at the limit instead of sorting the whole backlog.
    return and_(text(CLAIMABLE_STATUSES), _due(OutboxJob, now), unblocked)


def claim_candidates(portal_id: int, now: datetime, *, limit: int, runs: bool) -> Select[int]:
    """The ids :func:`claim_due` takes: up to ``limit`` claimable jobs of the portal, oldest first."""
    return (
        select(OutboxJob.id)
        .where(OutboxJob.portal_id == portal_id, _claimable(now, runs=runs))
        .order_by(OutboxJob.id)
        .limit(limit)
        # no-op on SQLite, where BEGIN IMMEDIATE already serialises writers
        .with_for_update(skip_locked=True)
    )


async def claim_due(
    session: AsyncSession,
    portal_id: int,
    owner: str,
    now: datetime,
    *,
    limit: int = 50,
    lock_for: timedelta = timedelta(minutes=2),
    runs: bool = False,
) -> list[ClaimedJob]:
    """Claim up to ``limit`` due jobs of one portal, oldest first, for ``owner`` until ``now + lock_for``.

    With ``runs`` a key's consecutive due jobs are claimed together (a batch keeps them in order);
    otherwise only the oldest unfinished job of each key.
    """
    candidates = claim_candidates(portal_id, now, limit=limit, runs=runs)
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
            row.id,
            row.portal_id,
            row.kind,
            row.payload,
            row.ordering_key,
            row.idempotency_key,
            row.attempts,
            row.maybe_sent_at is not None,
        )
        for row in rows
    ]
    return sorted(jobs, key=lambda job: job.id)


async def mark_maybe_sent(session: AsyncSession, job_ids: Sequence[int], owner: str, now: datetime) -> None:
    """Record, before a call that may deliver them, that Bitrix24 may hold these claimed jobs from now on.

    Committed on its own ahead of the call, so a process that dies while the call is out leaves a trace;
    settling a job with Bitrix24's answer clears it (an ambiguous retry keeps it).
    """
    await session.execute(
        update(OutboxJob)
        .where(OutboxJob.id.in_(job_ids), OutboxJob.locked_by == owner)
        .values(maybe_sent_at=now)
    )


async def take_over(session: AsyncSession, portal_id: int, owner: str, now: datetime) -> int:
    """Make the running jobs of a portal whose lease ``owner`` just took due again; how many.

    Only the lease holder claims a portal's jobs, so running jobs locked by anyone else belong to a
    dispatcher that died or lost its lease: waiting for their locks to expire would only delay them.
    Their ``maybe_sent`` mark stays, so whatever may have reached Bitrix24 is checked before a resend.
    """
    result = await session.execute(
        update(OutboxJob)
        .where(
            OutboxJob.portal_id == portal_id,
            OutboxJob.status == OutboxStatus.RUNNING,
            or_(OutboxJob.locked_by.is_(None), OutboxJob.locked_by != owner),
        )
        .values(status=OutboxStatus.PENDING, locked_by=None, locked_until=None, next_attempt_at=now)
        .returning(OutboxJob.id)
    )
    return len(result.all())


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
    return await _settle(
        session, job_id, owner, {"status": OutboxStatus.DONE, "finished_at": now, "maybe_sent_at": None}
    )


async def retry(
    session: AsyncSession,
    job_id: int,
    owner: str,
    error: str,
    next_attempt_at: datetime,
    *,
    maybe_sent: bool = False,
) -> bool:
    """Put a claimed job back for a later attempt, keeping the error; False if ``owner`` lost the claim.

    ``maybe_sent``: the call went out but its answer did not come, so the job keeps its mark.
    """
    values: dict[str, Any] = {
        "status": OutboxStatus.PENDING,
        "last_error": error,
        "next_attempt_at": next_attempt_at,
    }
    if not maybe_sent:
        values["maybe_sent_at"] = None
    return await _settle(session, job_id, owner, values)


async def dead_letter(session: AsyncSession, job_id: int, owner: str, reason: str, now: datetime) -> bool:
    """Give up on a claimed job for good, with the reason shown; False if ``owner`` lost the claim."""
    return await _settle(
        session,
        job_id,
        owner,
        {"status": OutboxStatus.DEAD, "dead_reason": reason, "finished_at": now, "maybe_sent_at": None},
    )


async def park(session: AsyncSession, job_id: int, owner: str, reason: str) -> bool:
    """Hold a claimed job until :func:`resume_parked` (e.g. ``NOT_ACTIVE_LINE``); its key stays blocked."""
    # a parked job's call was refused as a whole (inactive line, revoked grant): nothing was delivered
    return await _settle(
        session, job_id, owner, {"status": OutboxStatus.PARKED, "last_error": reason, "maybe_sent_at": None}
    )


async def resume_parked(
    session: AsyncSession, portal_id: int, now: datetime, *, reason: str | None = None
) -> int:
    """Make the parked jobs of a portal due again (only those parked for ``reason`` if given); how many."""
    conditions = [OutboxJob.portal_id == portal_id, OutboxJob.status == OutboxStatus.PARKED]
    if reason is not None:
        conditions.append(OutboxJob.last_error == reason)
    result = await session.execute(
        update(OutboxJob)
        .where(*conditions)
        .values(status=OutboxStatus.PENDING, next_attempt_at=now)
        .returning(OutboxJob.id)
    )
    return len(result.all())


async def release(session: AsyncSession, job_id: int, owner: str, now: datetime) -> bool:
    """Hand a claimed job back untried (its attempt is not counted); False if ``owner`` lost the claim."""
    return await _settle(
        session,
        job_id,
        owner,
        {"status": OutboxStatus.PENDING, "attempts": OutboxJob.attempts - 1, "next_attempt_at": now},
    )


async def parked_reasons(session: AsyncSession, portal_id: int) -> list[str]:
    """The distinct reasons a portal's parked jobs wait for."""
    rows = await session.scalars(
        select(OutboxJob.last_error)
        .where(OutboxJob.portal_id == portal_id, OutboxJob.status == OutboxStatus.PARKED)
        .distinct()
    )
    return sorted(reason for reason in rows if reason is not None)


async def cancel_uninstalled(session: AsyncSession, reason: str, now: datetime) -> int:
    """Dead-letter every unfinished job of every portal that uninstalled the app; how many."""
    uninstalled = select(Portal.id).where(Portal.install_state == InstallState.UNINSTALLED)
    result = await session.execute(
        update(OutboxJob)
        .where(OutboxJob.portal_id.in_(uninstalled), OutboxJob.status.in_(_UNFINISHED))
        .values(
            status=OutboxStatus.DEAD,
            dead_reason=reason,
            finished_at=now,
            locked_by=None,
            locked_until=None,
        )
        .returning(OutboxJob.id)
    )
    return len(result.all())


async def count_by_status(session: AsyncSession, portal_id: int) -> dict[OutboxStatus, int]:
    """How many of a portal's jobs are in each status (every status present, zero when none)."""
    rows = await session.execute(
        select(OutboxJob.status, func.count())
        .where(OutboxJob.portal_id == portal_id)
        .group_by(OutboxJob.status)
    )
    counts = dict.fromkeys(OutboxStatus, 0)
    for status, count in rows:
        counts[status] = count
    return counts


@dataclass(frozen=True)
class JobRow:
    """A job as an operator sees it (``openline-bridge outbox list``)."""

    id: int
    portal_id: int
    kind: str
    status: OutboxStatus
    attempts: int
    ordering_key: str | None
    next_attempt_at: datetime
    created_at: datetime
    last_error: str | None
    dead_reason: str | None
    payload: dict[str, Any]


def _job_row(row: OutboxJob) -> JobRow:
    return JobRow(
        row.id,
        row.portal_id,
        row.kind,
        row.status,
        row.attempts,
        row.ordering_key,
        row.next_attempt_at,
        row.created_at,
        row.last_error,
        row.dead_reason,
        row.payload,
    )


async def list_jobs(
    session: AsyncSession,
    *,
    status: OutboxStatus | None = None,
    portal_id: int | None = None,
    limit: int = 100,
) -> list[JobRow]:
    """Jobs oldest first, optionally of one status and one portal."""
    statement = select(OutboxJob).order_by(OutboxJob.id).limit(limit)
    if status is not None:
        statement = statement.where(OutboxJob.status == status)
    if portal_id is not None:
        statement = statement.where(OutboxJob.portal_id == portal_id)
    return [_job_row(row) for row in await session.scalars(statement)]


async def requeue(
    session: AsyncSession, now: datetime, *, job_id: int | None = None, portal_id: int | None = None
) -> list[int]:
    """Make dead jobs (one, or all of a portal, or all) pending again with fresh attempts; their ids."""
    conditions = [OutboxJob.status == OutboxStatus.DEAD]
    if job_id is not None:
        conditions.append(OutboxJob.id == job_id)
    if portal_id is not None:
        conditions.append(OutboxJob.portal_id == portal_id)
    result = await session.execute(
        update(OutboxJob)
        .where(*conditions)
        .values(
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            dead_reason=None,
            finished_at=None,
        )
        .returning(OutboxJob.id)
    )
    return sorted(result.scalars())


async def delete(session: AsyncSession, job_id: int) -> JobRow | None:
    """Remove a job that no dispatcher holds (not ``running``); the removed job, or None."""
    row = await session.scalar(
        select(OutboxJob).where(OutboxJob.id == job_id, OutboxJob.status != OutboxStatus.RUNNING)
    )
    if row is None:
        return None
    removed = _job_row(row)
    await session.delete(row)
    await session.flush()
    return removed
