"""Lines repository: one row per (portal, Bitrix24 line id), desired state and reported status."""

from __future__ import annotations

from openline_bridge.store import lines
from openline_bridge.store.database import Database
from openline_bridge.store.lines import LineStatus
from openline_bridge.store.portals import PortalRecord
from openline_bridge.store.types import utc_now


async def test_ensure_is_idempotent_and_keeps_name(
    database: Database, installed_portal: PortalRecord
) -> None:
    now = utc_now()
    async with database.transaction() as session:
        first = await lines.ensure(session, installed_portal.id, 3, now, name="Support")
        again = await lines.ensure(session, installed_portal.id, 3, now)
        renamed = await lines.ensure(session, installed_portal.id, 3, now, name="Sales")
        other = await lines.ensure(session, installed_portal.id, 1, now)
        listed = await lines.list_for_portal(session, installed_portal.id)
    assert again.id == first.id == renamed.id
    assert again.name == "Support"
    assert renamed.name == "Sales"
    assert [line.bitrix_line_id for line in listed] == [1, 3]
    assert other.last_status is None


async def test_desired_state_and_status(database: Database, installed_portal: PortalRecord) -> None:
    now = utc_now()
    async with database.transaction() as session:
        line = await lines.ensure(session, installed_portal.id, 3, now)
        await lines.set_connect_desired(session, line.id, True, now)
        await lines.record_status(
            session, line.id, LineStatus(configured=True, status=False, error=True), now
        )
        stored = await lines.find(session, installed_portal.id, 3)
        missing = await lines.find(session, installed_portal.id, 99)
    assert stored is not None
    assert stored.connect_desired
    assert stored.last_status == LineStatus(configured=True, status=False, error=True)
    assert stored.status_checked_at == now
    assert missing is None
