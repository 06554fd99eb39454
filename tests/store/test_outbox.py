"""Outbox repository: idempotent enqueue, due-time and per-key ordering, claims owned until settled."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import text

from openline_bridge.store import outbox
from openline_bridge.store.database import Database
from openline_bridge.store.portals import PortalRecord
from openline_bridge.store.types import utc_now


async def test_idempotency_key_makes_enqueue_a_no_op(
    database: Database, installed_portal: PortalRecord
) -> None:
    now = utc_now()
    async with database.transaction() as session:
        first = await outbox.enqueue(session, installed_portal.id, "send", {"v": 1}, "msg:1", now)
    async with database.transaction() as session:
        second = await outbox.enqueue(session, installed_portal.id, "send", {"v": 2}, "msg:1", now)
        claimed = await outbox.claim_due(session, installed_portal.id, "d1", now)
    assert first.created
    assert not second.created
    assert second.job_id == first.job_id
    assert [(job.id, job.payload, job.attempts) for job in claimed] == [(first.job_id, {"v": 1}, 1)]


async def test_enqueue_rolls_back_with_the_callers_transaction(
    database: Database, installed_portal: PortalRecord
) -> None:
    class Abort(Exception):
        pass

    now = utc_now()
    try:
        async with database.transaction() as session:
            await outbox.enqueue(session, installed_portal.id, "send", {}, "msg:1", now)
            raise Abort
    except Abort:
        pass
    async with database.transaction() as session:
        assert await outbox.claim_due(session, installed_portal.id, "d1", now) == []


async def test_claim_order_due_time_and_ordering_key(
    database: Database, installed_portal: PortalRecord
) -> None:
    now = utc_now()
    portal_id = installed_portal.id
    async with database.transaction() as session:
        a1 = await outbox.enqueue(session, portal_id, "send", {}, "a1", now, ordering_key="conversation:a")
        a2 = await outbox.enqueue(session, portal_id, "send", {}, "a2", now, ordering_key="conversation:a")
        later = await outbox.enqueue(
            session, portal_id, "send", {}, "l", now, not_before=now + timedelta(minutes=1)
        )
        b1 = await outbox.enqueue(session, portal_id, "send", {}, "b1", now, ordering_key="conversation:b")
        free = await outbox.enqueue(session, portal_id, "status", {}, "f", now)
    async with database.transaction() as session:
        claimed = await outbox.claim_due(session, portal_id, "d1", now)
    # a2 waits behind a1 (same conversation); `later` is not due yet.
    assert [job.id for job in claimed] == [a1.job_id, b1.job_id, free.job_id]
    async with database.transaction() as session:
        assert await outbox.claim_due(session, portal_id, "d1", now) == []
        assert await outbox.retry(session, a1.job_id, "d1", "HTTP 503", now + timedelta(seconds=10))
        # a1 is pending again but not due: a2 still waits behind it.
        assert await outbox.claim_due(session, portal_id, "d1", now + timedelta(seconds=5)) == []
        retried = await outbox.claim_due(session, portal_id, "d1", now + timedelta(seconds=10))
        assert [(job.id, job.attempts) for job in retried] == [(a1.job_id, 2)]
        assert await outbox.complete(session, a1.job_id, "d1", now)
        next_in_line = await outbox.claim_due(session, portal_id, "d1", now + timedelta(minutes=1))
    assert [job.id for job in next_in_line] == [a2.job_id, later.job_id]


async def test_dead_letter_unblocks_and_parking_blocks(
    database: Database, installed_portal: PortalRecord
) -> None:
    now = utc_now()
    portal_id = installed_portal.id
    async with database.transaction() as session:
        first = await outbox.enqueue(session, portal_id, "send", {}, "1", now, ordering_key="c")
        second = await outbox.enqueue(session, portal_id, "send", {}, "2", now, ordering_key="c")
        third = await outbox.enqueue(session, portal_id, "send", {}, "3", now, ordering_key="c")
        await outbox.claim_due(session, portal_id, "d1", now)
        assert await outbox.dead_letter(session, first.job_id, "d1", "ERROR_ARGUMENT", now)
        [claimed] = await outbox.claim_due(session, portal_id, "d1", now)
        assert claimed.id == second.job_id
        assert await outbox.park(session, second.job_id, "d1", "NOT_ACTIVE_LINE")
        assert await outbox.claim_due(session, portal_id, "d1", now) == []
        assert await outbox.resume_parked(session, portal_id, now) == 1
        resumed = await outbox.claim_due(session, portal_id, "d1", now)
    assert [job.id for job in resumed] == [second.job_id]
    assert third.created


async def test_expired_claim_is_taken_over(database: Database, installed_portal: PortalRecord) -> None:
    now = utc_now()
    async with database.transaction() as session:
        job = await outbox.enqueue(session, installed_portal.id, "send", {}, "1", now)
        await outbox.claim_due(
            session, installed_portal.id, "dead-worker", now, lock_for=timedelta(seconds=30)
        )
        assert await outbox.claim_due(session, installed_portal.id, "d2", now + timedelta(seconds=29)) == []
        taken = await outbox.claim_due(session, installed_portal.id, "d2", now + timedelta(seconds=30))
        assert [(j.id, j.attempts) for j in taken] == [(job.job_id, 2)]
        assert not await outbox.complete(session, job.job_id, "dead-worker", now)
        assert await outbox.complete(session, job.job_id, "d2", now)


async def test_claim_is_per_portal_and_limited(database: Database, installed_portal: PortalRecord) -> None:
    now = utc_now()
    async with database.transaction() as session:
        ids = [
            (await outbox.enqueue(session, installed_portal.id, "s", {}, f"k{n}", now)).job_id
            for n in range(5)
        ]
        assert await outbox.claim_due(session, installed_portal.id + 1000, "d1", now) == []
        first = await outbox.claim_due(session, installed_portal.id, "d1", now, limit=2)
        rest = await outbox.claim_due(session, installed_portal.id, "d2", now)
    assert [job.id for job in first] == ids[:2]
    assert [job.id for job in rest] == ids[2:]


async def test_concurrent_claims_from_two_engines_are_disjoint(
    database: Database, installed_portal: PortalRecord, open_database: Callable[[], Awaitable[Database]]
) -> None:
    now = utc_now()
    async with database.transaction() as session:
        for n in range(40):
            await outbox.enqueue(session, installed_portal.id, "send", {}, f"k{n}", now)
    engines = [database, await open_database()]

    async def claim_all(owner: str, engine: Database) -> list[int]:
        claimed: list[int] = []
        while True:
            async with engine.transaction() as session:
                jobs = await outbox.claim_due(session, installed_portal.id, owner, now, limit=3)
            if not jobs:
                return claimed
            claimed.extend(job.id for job in jobs)

    first, second = await asyncio.wait_for(
        asyncio.gather(claim_all("d1", engines[0]), claim_all("d2", engines[1])), timeout=30
    )
    assert not set(first) & set(second)
    assert len(first) + len(second) == 40


async def test_maybe_sent_mark_survives_only_an_ambiguous_retry(
    database: Database, installed_portal: PortalRecord
) -> None:
    now = utc_now()
    async with database.transaction() as session:
        for key in ("a", "b", "c"):
            await outbox.enqueue(session, installed_portal.id, "send", {}, key, now)
        claimed = await outbox.claim_due(session, installed_portal.id, "d1", now)
        assert [job.maybe_sent for job in claimed] == [False, False, False]
        await outbox.mark_maybe_sent(session, [job.id for job in claimed], "d2", now)  # not d2's jobs
        untouched = await outbox.claim_due(session, installed_portal.id, "d1", now + timedelta(minutes=5))
        assert [job.maybe_sent for job in untouched] == [False, False, False]
        await outbox.mark_maybe_sent(session, [job.id for job in untouched], "d1", now)
        first, second, third = untouched
        await outbox.retry(session, first.id, "d1", "ambiguous", now, maybe_sent=True)
        await outbox.retry(session, second.id, "d1", "503", now)
        await outbox.complete(session, third.id, "d1", now)
        again = await outbox.claim_due(session, installed_portal.id, "d1", now)
    assert [(job.id, job.maybe_sent) for job in again] == [(first.id, True), (second.id, False)]


async def test_take_over_frees_only_other_owners_running_jobs_of_the_portal(
    database: Database, installed_portal: PortalRecord
) -> None:
    now = utc_now()
    async with database.transaction() as session:
        for key in ("dead-1", "dead-2", "mine", "waiting"):
            await outbox.enqueue(session, installed_portal.id, "send", {}, key, now)
        dead = await outbox.claim_due(session, installed_portal.id, "dead", now, limit=2)
        await outbox.mark_maybe_sent(session, [dead[0].id], "dead", now)
        mine = await outbox.claim_due(session, installed_portal.id, "new", now, limit=1)
        taken = await outbox.take_over(session, installed_portal.id, "new", now)
        # the dead owner's jobs are due at once, long before their two-minute lock would have expired
        reclaimed = await outbox.claim_due(session, installed_portal.id, "new", now)
        lost = await outbox.complete(session, dead[1].id, "dead", now)
    assert taken == 2
    assert not lost  # a late answer from the old owner cannot settle a job it no longer holds
    assert [(job.id, job.maybe_sent) for job in reclaimed][:2] == [(dead[0].id, True), (dead[1].id, False)]
    assert mine[0].id not in {job.id for job in reclaimed}


# SQLite only: PostgreSQL picks its plan from table statistics, which bench/outbox_claim.py covers.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_claim_walks_the_claimable_jobs_in_order_instead_of_sorting_the_backlog(
    database: Database, installed_portal: PortalRecord
) -> None:
    # Structural, not timed: with a backlog, sorting every due job and testing each one made a claim take a
    # second (bench/outbox_claim.py). The plan must walk the partial index and use index searches only.
    now = utc_now()
    async with database.transaction() as session:
        for n in range(30):
            key = f"conversation:{n % 3}"
            await outbox.enqueue(session, installed_portal.id, "send", {}, f"msg:{n}", now, ordering_key=key)
        candidates = outbox.claim_candidates(installed_portal.id, now, limit=50, runs=True)
        compiled = candidates.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        plan = " | ".join(row[-1] for row in await session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
        claimed = await outbox.claim_due(session, installed_portal.id, "d1", now, runs=True)
    assert "USING INDEX ix_outbox_jobs_claimable" in plan, plan
    assert "TEMP B-TREE" not in plan and "SCAN" not in plan, plan
    assert len(claimed) == 30
