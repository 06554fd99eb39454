"""Inbox repository: duplicates are no-ops, claims are exclusive and expire, finishing needs the claim."""

from __future__ import annotations

from datetime import timedelta

from openline_bridge.store import inbox
from openline_bridge.store.database import Database
from openline_bridge.store.portals import PortalRecord
from openline_bridge.store.types import utc_now

EVENT = "ONIMCONNECTORMESSAGEADD"


async def test_duplicate_is_a_reported_no_op(database: Database, installed_portal: PortalRecord) -> None:
    now = utc_now()
    async with database.transaction() as session:
        first = await inbox.record(session, installed_portal.id, EVENT, "im:101", {"n": 1}, now)
    async with database.transaction() as session:
        duplicate = await inbox.record(session, installed_portal.id, EVENT, "im:101", {"n": 2}, now)
        claimed = await inbox.claim(session, "w1", now)
    assert first is not None
    assert duplicate is None
    assert [(item.id, item.payload) for item in claimed] == [(first, {"n": 1})]


async def test_claim_is_exclusive_ordered_and_expires(
    database: Database, installed_portal: PortalRecord
) -> None:
    now = utc_now()
    async with database.transaction() as session:
        ids = [await inbox.record(session, installed_portal.id, EVENT, f"im:{n}", {}, now) for n in range(3)]
    assert None not in ids
    async with database.transaction() as session:
        first_batch = await inbox.claim(session, "w1", now, limit=2, lock_for=timedelta(seconds=30))
        second_batch = await inbox.claim(session, "w2", now, lock_for=timedelta(seconds=30))
        nothing_left = await inbox.claim(session, "w3", now)
    assert [item.id for item in first_batch] == ids[:2]
    assert [item.id for item in second_batch] == ids[2:]
    assert nothing_left == []
    async with database.transaction() as session:
        assert await inbox.mark_processed(session, first_batch[0].id, "w1", now)
        reclaimed = await inbox.claim(session, "w3", now + timedelta(seconds=31))
        assert not await inbox.mark_failed(session, first_batch[1].id, "w1", "too late", now)
        assert await inbox.mark_failed(session, first_batch[1].id, "w3", "bad payload", now)
    assert [item.id for item in reclaimed] == ids[1:]


async def test_finished_events_are_not_claimed_again(
    database: Database, installed_portal: PortalRecord
) -> None:
    now = utc_now()
    async with database.transaction() as session:
        event_id = await inbox.record(session, installed_portal.id, EVENT, "im:1", {}, now)
        assert event_id is not None
        await inbox.claim(session, "w1", now)
        assert await inbox.mark_processed(session, event_id, "w1", now)
        assert not await inbox.mark_processed(session, event_id, "w1", now)
        assert await inbox.claim(session, "w2", now + timedelta(hours=1)) == []
