"""Portal leases are exclusive across engines; portal errors keep the newest few."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from openline_bridge.store import leases, portal_errors
from openline_bridge.store.database import Database
from openline_bridge.store.portals import PortalRecord
from openline_bridge.store.types import utc_now

TTL = timedelta(seconds=30)


async def test_lease_is_exclusive_across_engines(
    database: Database, installed_portal: PortalRecord, open_database: Callable[[], Awaitable[Database]]
) -> None:
    other = await open_database()
    now = utc_now()
    portal_id = installed_portal.id
    async with database.transaction() as session:
        assert await leases.free_portal_ids(session, now) == [portal_id]
        assert await leases.claim(session, portal_id, "a", now, TTL)
    async with other.transaction() as session:
        assert not await leases.claim(session, portal_id, "b", now, TTL)
        assert await leases.free_portal_ids(session, now) == []
        assert not await leases.renew(session, portal_id, "b", now, TTL)
    async with database.transaction() as session:
        assert await leases.renew(session, portal_id, "a", now + timedelta(seconds=20), TTL)
        # re-claiming one's own lease extends it
        assert await leases.claim(session, portal_id, "a", now + timedelta(seconds=20), TTL)
    async with other.transaction() as session:
        assert not await leases.claim(session, portal_id, "b", now + timedelta(seconds=40), TTL)
        assert await leases.claim(session, portal_id, "b", now + timedelta(seconds=51), TTL)
    async with database.transaction() as session:
        assert not await leases.renew(session, portal_id, "a", now + timedelta(seconds=52), TTL)
        await leases.release(session, portal_id, "a")  # not the owner: no effect
        assert not await leases.claim(session, portal_id, "a", now + timedelta(seconds=52), TTL)
    async with other.transaction() as session:
        await leases.release(session, portal_id, "b")
    async with database.transaction() as session:
        assert await leases.claim(session, portal_id, "a", now + timedelta(seconds=53), TTL)


async def test_portal_errors_newest_first_and_pruned(
    database: Database, installed_portal: PortalRecord
) -> None:
    now = utc_now()
    async with database.transaction() as session:
        for n in range(portal_errors.KEEP_PER_PORTAL + 5):
            await portal_errors.record(session, installed_portal.id, "worker.send", f"E{n}", "boom", now)
        everything = await portal_errors.latest(session, installed_portal.id, limit=1000)
    assert len(everything) == portal_errors.KEEP_PER_PORTAL
    assert everything[0].code == f"E{portal_errors.KEEP_PER_PORTAL + 4}"
    assert everything[-1].code == "E5"
