"""Lifecycle events sent by the sandbox portal and what they do to the bridge (contract §6.4, §9.4, §9.5)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from tests.lifecycle.bridge_peer import RunningBridge, event_body, rest, wait_for
from tests.lifecycle.fixtures import Installed

from openline_bridge.health import check_portal
from openline_bridge.store import lines, outbox, portals
from openline_bridge.store.database import Database
from openline_bridge.store.lines import LineRecord
from openline_bridge.store.models import InstallState, OutboxJob, OutboxStatus
from openline_bridge.store.types import utc_now


async def _connected_line(
    bridge: RunningBridge, installed: Installed, database: Database, *, desired: bool
) -> int:
    """Line 1 with our connector active in the sandbox, known to the bridge with the given desired flag."""
    connector = bridge.settings.connector_id
    assert await rest(
        installed.answer, "imconnector.activate", {"CONNECTOR": connector, "LINE": 1, "ACTIVE": 1}
    )
    async with database.transaction() as session:
        portal = await portals.get(session, installed.answer["member_id"])
        line = await lines.ensure(session, portal.id, 1, utc_now())
        await lines.set_connect_desired(session, line.id, desired, utc_now())
    return portal.id


async def _line(database: Database, portal_id: int, bitrix_line_id: int) -> LineRecord | None:
    async with database.transaction() as session:
        return await lines.find(session, portal_id, bitrix_line_id)


async def _sandbox_status(control: httpx.AsyncClient, connector: str, line: int) -> bool:
    rows = (await control.get("/connectors")).json()["statuses"]
    return any(row["connector"] == connector and row["line"] == line and row["status"] for row in rows)


async def test_dropped_connector_is_recorded_and_reactivated_while_wanted(
    control: httpx.AsyncClient, bridge: RunningBridge, installed: Installed, database: Database
) -> None:
    connector = bridge.settings.connector_id
    portal_id = await _connected_line(bridge, installed, database, desired=True)
    (await control.post(f"/lines/1/connectors/{connector}/disconnect")).raise_for_status()

    async def recorded_inactive() -> bool:
        line = await _line(database, portal_id, 1)
        return line is not None and line.last_status is not None and not line.last_status.status

    await wait_for(recorded_inactive)
    assert not await _sandbox_status(control, connector, 1)
    async with database.transaction() as session:
        portal = await portals.get(session, installed.answer["member_id"])
    health = await check_portal(bridge.services, portal)
    assert health.healthy, health
    assert [(line.bitrix_line_id, line.reactivated) for line in health.lines] == [(1, True)]
    assert await _sandbox_status(control, connector, 1)
    rows = (await control.get("/connectors")).json()["statuses"]
    data = next(row["data"] for row in rows if row["connector"] == connector and row["line"] == 1)
    assert data["url"] == bridge.url  # connector.data.set ran again after activation


async def test_connector_disconnected_on_purpose_stays_off(
    control: httpx.AsyncClient, bridge: RunningBridge, installed: Installed, database: Database
) -> None:
    connector = bridge.settings.connector_id
    portal_id = await _connected_line(bridge, installed, database, desired=False)
    (await control.post(f"/lines/1/connectors/{connector}/disconnect")).raise_for_status()

    async def recorded_inactive() -> bool:
        line = await _line(database, portal_id, 1)
        return line is not None and line.last_status is not None and not line.last_status.status

    await wait_for(recorded_inactive)
    async with database.transaction() as session:
        portal = await portals.get(session, installed.answer["member_id"])
    health = await check_portal(bridge.services, portal)
    assert health.healthy
    assert health.lines == ()
    assert not await _sandbox_status(control, connector, 1)


async def test_deleted_line_is_forgotten(
    control: httpx.AsyncClient, bridge: RunningBridge, installed: Installed, database: Database
) -> None:
    created = (await control.post("/lines", json={"name": "Second line"})).json()
    line_id = int(created["id"])
    async with database.transaction() as session:
        portal = await portals.get(session, installed.answer["member_id"])
        await lines.ensure(session, portal.id, line_id, utc_now())
        await lines.ensure(session, portal.id, 1, utc_now())
    (await control.delete(f"/lines/{line_id}")).raise_for_status()

    async def forgotten() -> bool:
        return await _line(database, portal.id, line_id) is None

    await wait_for(forgotten)
    assert await _line(database, portal.id, 1) is not None


@pytest.mark.parametrize("clean", [False, True], ids=["keep", "clean"])
async def test_uninstall_stops_all_work_and_keeps_or_purges_data(
    clean: bool, control: httpx.AsyncClient, bridge: RunningBridge, installed: Installed, database: Database
) -> None:
    member_id = installed.answer["member_id"]
    async with database.transaction() as session:
        portal = await portals.get(session, member_id)
        await lines.ensure(session, portal.id, 1, utc_now())
        await outbox.enqueue(session, portal.id, "test.job", {}, "job-1", utc_now())
    (await control.post(f"/apps/{installed.client_id}/uninstall", json={"clean": clean})).raise_for_status()

    async def gone_or_uninstalled() -> bool:
        async with database.transaction() as session:
            found = await portals.find(session, member_id, include_uninstalled=True)
        return (
            found is None if clean else found is not None and found.install_state is InstallState.UNINSTALLED
        )

    await wait_for(gone_or_uninstalled)
    async with database.transaction() as session:
        jobs = (await session.scalars(select(OutboxJob))).all()
        kept_line = await lines.find(session, portal.id, 1)
    if clean:
        assert jobs == []
        assert kept_line is None
    else:
        assert [job.status for job in jobs] == [OutboxStatus.DEAD]
        assert kept_line is not None
    later = event_body(installed.answer, "ONIMCONNECTORLINEDELETE", "1")
    refused = await bridge.http.post(
        "/b24/events", content=later, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unknown_portal"
