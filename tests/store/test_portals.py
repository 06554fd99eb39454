"""Portal repository: one row per member_id across re-installs, sealed tokens, uninstall and purge."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from openline_bridge.crypto import SecretBox
from openline_bridge.errors import PortalNotFound
from openline_bridge.store import lines, outbox, portals
from openline_bridge.store.database import Database
from openline_bridge.store.models import InstallState, OutboxJob, Portal
from openline_bridge.store.portals import PortalInstall
from openline_bridge.store.types import utc_now

MakeInstall = Callable[..., PortalInstall]


async def test_reinstall_updates_the_same_row(
    database: Database, secret_box: SecretBox, make_install: MakeInstall
) -> None:
    async with database.transaction() as session:
        first = await portals.upsert_install(session, secret_box, make_install(), utc_now())
    async with database.transaction() as session:
        second = await portals.upsert_install(
            session,
            secret_box,
            make_install(domain="renamed.bitrix24.com", application_token="app-2"),
            utc_now(),
        )
        count = await session.scalar(select(func.count()).select_from(Portal))
    assert second.id == first.id
    assert second.domain == "renamed.bitrix24.com"
    assert count == 1
    async with database.transaction() as session:
        assert await portals.verify_application_token(session, secret_box, first.member_id, "app-2")
        assert not await portals.verify_application_token(session, secret_box, first.member_id, "app-token-1")


async def test_tokens_are_sealed_at_rest(
    database: Database, secret_box: SecretBox, make_install: MakeInstall
) -> None:
    async with database.transaction() as session:
        await portals.upsert_install(session, secret_box, make_install(), utc_now())
        row = (await session.execute(select(Portal.access_token_sealed, Portal.refresh_token_sealed))).one()
    assert "access-1" not in row.access_token_sealed
    assert secret_box.open(row.refresh_token_sealed) == "refresh-1"


async def test_install_lifecycle(
    database: Database, secret_box: SecretBox, make_install: MakeInstall
) -> None:
    member_id = make_install().member_id
    async with database.transaction() as session:
        installing = await portals.upsert_install(session, secret_box, make_install(), utc_now())
        assert installing.install_state is InstallState.INSTALLING
        await portals.mark_install_finished(session, member_id, utc_now())
        assert (await portals.get(session, member_id)).install_state is InstallState.INSTALLED
        assert await portals.mark_uninstalled(session, member_id, utc_now())
        assert not await portals.mark_uninstalled(session, member_id, utc_now())
        assert await portals.find(session, member_id) is None
        with pytest.raises(PortalNotFound):
            await portals.get(session, member_id)
        uninstalled = await portals.get(session, member_id, include_uninstalled=True)
        assert uninstalled.uninstalled_at is not None
    async with database.transaction() as session:
        again = await portals.upsert_install(session, secret_box, make_install(), utc_now())
    assert again.install_state is InstallState.INSTALLING
    assert again.uninstalled_at is None


async def test_unknown_portal(database: Database, secret_box: SecretBox) -> None:
    async with database.transaction() as session:
        assert not await portals.verify_application_token(session, secret_box, "nope", "x")
        with pytest.raises(PortalNotFound):
            await portals.mark_install_finished(session, "nope", utc_now())


async def test_purge_removes_everything_owned(
    database: Database, secret_box: SecretBox, make_install: MakeInstall
) -> None:
    now = utc_now()
    async with database.transaction() as session:
        portal = await portals.upsert_install(session, secret_box, make_install(), now)
        await lines.ensure(session, portal.id, 7, now)
        await outbox.enqueue(session, portal.id, "noop", {}, "k1", now)
    async with database.transaction() as session:
        assert await portals.purge(session, portal.member_id)
        assert not await portals.purge(session, portal.member_id)
        assert await session.scalar(select(func.count()).select_from(OutboxJob)) == 0
        assert await lines.list_for_portal(session, portal.id) == []


async def test_record_check(database: Database, installed_portal: portals.PortalRecord) -> None:
    at = utc_now() - timedelta(seconds=5)
    async with database.transaction() as session:
        await portals.record_check(session, installed_portal.id, {"tokens": "ok", "lines": [1]}, at)
        checked = await portals.get(session, installed_portal.member_id)
    assert checked.last_check_result == {"tokens": "ok", "lines": [1]}
    assert checked.last_check_at == at
