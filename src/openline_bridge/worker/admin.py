"""What an operator does with the outbox by hand (``openline-bridge outbox list|retry|drop``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from openline_bridge.relay.notify import Notifier
from openline_bridge.store import outbox, portals
from openline_bridge.store.database import Database
from openline_bridge.store.models import OutboxStatus
from openline_bridge.store.outbox import JobRow
from openline_bridge.worker import status
from openline_bridge.worker.jobs import JobKind, JobPayloadError, MessageJob, parse_payload

__all__ = ["DROPPED_REASON", "drop", "format_jobs", "list_jobs", "portal_id_of", "retry"]

DROPPED_REASON = "dropped by an operator"


async def portal_id_of(database: Database, member_id: str) -> int:
    """The id of the portal with ``member_id`` (uninstalled ones too); ``PortalNotFound`` otherwise."""
    async with database.transaction() as session:
        return (await portals.get(session, member_id, include_uninstalled=True)).id


async def list_jobs(
    database: Database, *, status: OutboxStatus | None, portal_id: int | None, limit: int
) -> list[JobRow]:
    """Jobs oldest first, filtered by status and portal."""
    async with database.transaction() as session:
        return await outbox.list_jobs(session, status=status, portal_id=portal_id, limit=limit)


async def retry(
    database: Database, now: datetime, *, job_id: int | None = None, portal_id: int | None = None
) -> list[int]:
    """Give dead jobs a fresh set of attempts (one by id, or all, optionally of one portal)."""
    async with database.transaction() as session:
        return await outbox.requeue(session, now, job_id=job_id, portal_id=portal_id)


async def drop(database: Database, notifier: Notifier, job_id: int, now: datetime) -> JobRow | None:
    """Remove a job no dispatcher holds; a visitor message it would have sent is shown as failed."""
    async with notifier.transaction(database) as session:
        removed = await outbox.delete(session, job_id)
        if removed is not None and removed.kind == JobKind.SEND_MESSAGE:
            try:
                payload = parse_payload(removed.kind, removed.payload)
            except JobPayloadError:
                return removed
            if isinstance(payload, MessageJob):
                await status.mark_failed(session, payload.message_id, "gave_up", DROPPED_REASON, now)
        return removed


def format_jobs(jobs: Sequence[JobRow]) -> str:
    """A plain-text table, one job per line."""
    if not jobs:
        return "no jobs"
    header = ("ID", "PORTAL", "KIND", "STATUS", "ATTEMPTS", "ORDER", "NEXT_ATTEMPT", "REASON")
    rows = [header] + [
        (
            str(job.id),
            str(job.portal_id),
            job.kind,
            job.status.value,
            str(job.attempts),
            job.ordering_key or "-",
            job.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S"),
            (job.dead_reason or job.last_error or "-").replace("\n", " ")[:80],
        )
        for job in jobs
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )
