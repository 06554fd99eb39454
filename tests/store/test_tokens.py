"""DatabaseTokenStore: the REST client's token storage, with a refresh guard exclusive across engines."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import update

from openline_bridge.bitrix24.auth import TokenStore
from openline_bridge.crypto import SecretBox
from openline_bridge.errors import LeaseTimeout, PortalNotFound
from openline_bridge.store import portals
from openline_bridge.store.database import Database
from openline_bridge.store.models import Portal
from openline_bridge.store.portals import PortalRecord
from openline_bridge.store.tokens import DatabaseTokenStore
from openline_bridge.store.types import utc_now


async def test_load_and_save(
    database: Database, secret_box: SecretBox, installed_portal: PortalRecord
) -> None:
    store: TokenStore = DatabaseTokenStore(database, secret_box)
    tokens = await store.load(installed_portal.member_id)
    assert (tokens.access_token, tokens.refresh_token) == ("access-1", "refresh-1")
    assert tokens.client_id == "local.test0001"
    assert tokens.expires_at > time.time() + 3000
    await store.save_refreshed(installed_portal.member_id, "access-2", "refresh-2", 1_900_000_000.0)
    await store.save_client_endpoint(
        installed_portal.member_id, "https://new.bitrix24.com/rest/", "new.bitrix24.com"
    )
    tokens = await store.load(installed_portal.member_id)
    assert (tokens.access_token, tokens.refresh_token, tokens.expires_at) == (
        "access-2",
        "refresh-2",
        1_900_000_000.0,
    )
    assert tokens.client_endpoint == "https://new.bitrix24.com/rest/"
    assert "access-2" not in repr(tokens)


async def test_unknown_or_uninstalled_portal(
    database: Database, secret_box: SecretBox, installed_portal: PortalRecord
) -> None:
    store = DatabaseTokenStore(database, secret_box)
    with pytest.raises(PortalNotFound):
        await store.load("unknown")
    with pytest.raises(PortalNotFound):
        await store.save_refreshed("unknown", "a", "r", 0.0)
    with pytest.raises(PortalNotFound):
        async with store.refresh_guard("unknown"):
            pass
    async with database.transaction() as session:
        await portals.mark_uninstalled(session, installed_portal.member_id, utc_now())
    with pytest.raises(PortalNotFound):
        await store.load(installed_portal.member_id)


async def test_refresh_guard_is_exclusive_across_engines(
    database: Database,
    secret_box: SecretBox,
    installed_portal: PortalRecord,
    open_database: Callable[[], Awaitable[Database]],
) -> None:
    member_id = installed_portal.member_id
    stores = [
        DatabaseTokenStore(db, secret_box, poll_interval=0.01) for db in (database, await open_database())
    ]
    held: list[str] = []
    overlaps: list[str] = []
    refreshes: list[str] = []

    async def refresh_if_needed(name: str, store: DatabaseTokenStore, seen_token: str) -> None:
        async with store.refresh_guard(member_id) as tokens:
            if held:
                overlaps.append(name)
            held.append(name)
            if tokens.refresh_token == seen_token:  # nobody refreshed while we waited: do it
                await asyncio.sleep(0.2)  # the OAuth round trip
                refreshes.append(name)
                await store.save_refreshed(member_id, f"access-{name}", f"refresh-{name}", time.time() + 3600)
            held.remove(name)

    await asyncio.wait_for(
        asyncio.gather(
            *(refresh_if_needed(f"w{n}", store, "refresh-1") for n, store in enumerate(stores * 2))
        ),
        timeout=20,
    )
    assert overlaps == []
    assert len(refreshes) == 1
    final = await stores[0].load(member_id)
    assert final.refresh_token == f"refresh-{refreshes[0]}"


async def test_guard_of_a_dead_holder_expires(
    database: Database, secret_box: SecretBox, installed_portal: PortalRecord
) -> None:
    async with database.transaction() as session:
        await session.execute(
            update(Portal).values(
                refresh_lease_owner="crashed", refresh_lease_expires_at=utc_now() + timedelta(seconds=0.5)
            )
        )
    impatient = DatabaseTokenStore(
        database, secret_box, wait_limit=timedelta(seconds=0.2), poll_interval=0.02
    )
    with pytest.raises(LeaseTimeout):
        async with impatient.refresh_guard(installed_portal.member_id):
            pass
    patient = DatabaseTokenStore(database, secret_box, wait_limit=timedelta(seconds=5), poll_interval=0.02)
    started = time.monotonic()
    async with patient.refresh_guard(installed_portal.member_id) as tokens:
        assert tokens.refresh_token == "refresh-1"
    assert time.monotonic() - started < 5
    async with asyncio.timeout(1), patient.refresh_guard(installed_portal.member_id):  # released on exit
        pass
