"""Two bridge "processes" (two engines, two clients) share one portal's tokens in the database:
an expiry seen by both still makes exactly one OAuth refresh (pitfall P27)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from tests.bitrix24.sandbox_peer import (
    CountingTransport,
    SandboxProcess,
    install_test_app,
    lookup_secret,
    portal_install,
)

from openline_bridge.bitrix24.client import Bitrix24Client
from openline_bridge.bitrix24.ratelimit import Unlimited
from openline_bridge.crypto import SecretBox
from openline_bridge.store import portals
from openline_bridge.store.database import Database
from openline_bridge.store.tokens import DatabaseTokenStore
from openline_bridge.store.types import utc_now


async def test_one_refresh_across_two_processes(
    sandbox: SandboxProcess,
    database: Database,
    open_database: Callable[[], Awaitable[Database]],
    secret_box: SecretBox,
) -> None:
    installed = install_test_app(sandbox)
    async with database.transaction() as session:
        install = portal_install(installed, scope="imopenlines,imconnector", installed_by=1)
        await portals.upsert_install(session, secret_box, install, utc_now())
    member_id = installed["member_id"]
    transports = [CountingTransport(), CountingTransport()]
    clients = [
        Bitrix24Client(
            DatabaseTokenStore(handle, secret_box), lookup_secret, Unlimited(), transport=transport
        )
        for handle, transport in zip([database, await open_database()], transports, strict=True)
    ]
    sandbox.control("POST", "/tokens/expire")
    try:
        async with asyncio.timeout(60):
            answers = await asyncio.gather(
                *(client.call(member_id, "app.info") for client in clients for _ in range(4))
            )
    finally:
        for client in clients:
            await client.aclose()
    assert all(answer.result["INSTALLED"] is True for answer in answers)
    assert sum(transport.count("/oauth/token/") for transport in transports) == 1
    stored = await DatabaseTokenStore(database, secret_box).load(member_id)
    assert stored.refresh_token != installed["refresh_token"]
