"""The outbox repository functions the worker added: claiming runs, handing back, parking by reason,
cancelling for uninstalled portals, and the operator's list/requeue/delete."""

from __future__ import annotations

from datetime import timedelta

from openline_bridge.store import outbox, portals
from openline_bridge.store.database import Database
from openline_bridge.store.models import OutboxStatus
from openline_bridge.store.portals import PortalRecord
from openline_bridge.store.types import utc_now

OWNER = "dispatcher-1"


async def _enqueue(
    database: Database, portal_id: int, key: str | None, count: int, start: int = 0
) -> list[int]:
    now = utc_now()
    async with database.transaction() as session:
        return [
            (
                await outbox.enqueue(
                    session, portal_id, "send_message", {"message_id": i + 1}, f"k{i}", now, ordering_key=key
                )
            ).job_id
            for i in range(start, start + count)
        ]


async def test_runs_claim_consecutive_jobs_of_a_key_in_order(
    database: Database, installed_portal: PortalRecord
) -> None:
    a = await _enqueue(database, installed_portal.id, "conversation:1", 3)
    b = await _enqueue(database, installed_portal.id, "conversation:2", 2, start=3)
    now = utc_now()
    async with database.transaction() as session:
        single = await outbox.claim_due(session, installed_portal.id, OWNER, now)
    assert [job.id for job in single] == [a[0], b[0]]  # without runs: the head of each key only
    async with database.transaction() as session:
        for job in single:
            assert await outbox.release(session, job.id, OWNER, now)
        runs = await outbox.claim_due(session, installed_portal.id, OWNER, now, runs=True)
    assert [job.id for job in runs] == a + b
    assert {job.attempts for job in runs} == {1}  # a released claim is not an attempt


async def test_a_waiting_job_blocks_the_rest_of_its_run(
    database: Database, installed_portal: PortalRecord
) -> None:
    a = await _enqueue(database, installed_portal.id, "conversation:1", 3)
    now = utc_now()
    async with database.transaction() as session:
        (head,) = await outbox.claim_due(session, installed_portal.id, OWNER, now, limit=1, runs=True)
        await outbox.retry(session, head.id, OWNER, "503", now + timedelta(minutes=1))
        assert await outbox.claim_due(session, installed_portal.id, OWNER, now, runs=True) == []
        later = await outbox.claim_due(
            session, installed_portal.id, OWNER, now + timedelta(minutes=2), runs=True
        )
    assert [job.id for job in later] == a


async def test_parked_jobs_resume_by_reason(database: Database, installed_portal: PortalRecord) -> None:
    first = await _enqueue(database, installed_portal.id, "conversation:1", 1)
    second = await _enqueue(database, installed_portal.id, "conversation:2", 1, start=1)
    now = utc_now()
    async with database.transaction() as session:
        claimed = await outbox.claim_due(session, installed_portal.id, OWNER, now, runs=True)
        await outbox.park(session, claimed[0].id, OWNER, "line_inactive:1")
        await outbox.park(session, claimed[1].id, OWNER, "line_inactive:2")
        assert await outbox.parked_reasons(session, installed_portal.id) == [
            "line_inactive:1",
            "line_inactive:2",
        ]
        assert await outbox.resume_parked(session, installed_portal.id, now, reason="line_inactive:2") == 1
        again = await outbox.claim_due(session, installed_portal.id, OWNER, now, runs=True)
    assert [job.id for job in again] == second
    assert first[0] not in [job.id for job in again]


async def test_operator_requeues_lists_and_deletes(
    database: Database, installed_portal: PortalRecord
) -> None:
    (job_id,) = await _enqueue(database, installed_portal.id, "conversation:1", 1)
    now = utc_now()
    async with database.transaction() as session:
        assert [job.id for job in await outbox.claim_due(session, installed_portal.id, OWNER, now)] == [
            job_id
        ]
        assert await outbox.delete(session, job_id) is None  # running: a dispatcher holds it
        await outbox.dead_letter(session, job_id, OWNER, "rejected: no", now)
        (row,) = await outbox.list_jobs(session, status=OutboxStatus.DEAD, portal_id=installed_portal.id)
        assert (row.id, row.dead_reason) == (job_id, "rejected: no")
        assert await outbox.requeue(session, now, job_id=job_id) == [job_id]
        assert await outbox.requeue(session, now, job_id=job_id) == []
        (pending,) = await outbox.list_jobs(session, status=OutboxStatus.PENDING)
        assert (pending.attempts, pending.dead_reason) == (0, None)
        removed = await outbox.delete(session, job_id)
        assert removed is not None and removed.id == job_id
        assert await outbox.list_jobs(session) == []


async def test_uninstalled_portals_jobs_are_cancelled(
    database: Database, installed_portal: PortalRecord
) -> None:
    await _enqueue(database, installed_portal.id, "conversation:1", 2)
    now = utc_now()
    async with database.transaction() as session:
        assert await outbox.cancel_uninstalled(session, "gone", now) == 0
        await portals.mark_uninstalled(session, installed_portal.member_id, now)
        assert await outbox.cancel_uninstalled(session, "gone", now) == 2
        rows = await outbox.list_jobs(session)
    assert {(row.status, row.dead_reason) for row in rows} == {(OutboxStatus.DEAD, "gone")}
