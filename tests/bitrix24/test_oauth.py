"""OAuth host choice and the refresher's decisions that need no network (the rest: test_client.py)."""

from __future__ import annotations

import time

import httpx
import pytest
from tests.bitrix24.sandbox_peer import CountingTransport, InMemoryTokenStore

from openline_bridge.bitrix24.auth import PortalTokens
from openline_bridge.bitrix24.errors import AuthRevokedError
from openline_bridge.bitrix24.oauth import TokenRefresher, oauth_base_url

TOKENS = PortalTokens(
    member_id="member-1",
    client_id="local.unknown",
    client_endpoint="https://portal.bitrix24.com/rest/",
    server_endpoint="https://oauth.bitrix24.tech/rest/",
    access_token="current-access",
    refresh_token="current-refresh",
    expires_at=time.time() + 3000,
)


@pytest.mark.parametrize(
    ("server_endpoint", "configured", "expected"),
    [
        ("https://oauth.bitrix.info/rest/", None, "https://oauth.bitrix.info"),
        ("https://oauth.bitrix24.tech/rest/", None, "https://oauth.bitrix24.tech"),  # contract §14.12
        ("http://127.0.0.1:8024/rest/", None, "http://127.0.0.1:8024"),
        ("https://oauth.bitrix.info/rest/", "https://oauth.example.com/", "https://oauth.example.com"),
    ],
)
def test_oauth_base_url(server_endpoint: str, configured: str | None, expected: str) -> None:
    assert oauth_base_url(server_endpoint, configured) == expected


async def no_secret(client_id: str) -> str:
    raise KeyError(client_id)


async def test_someone_else_already_refreshed() -> None:
    transport = CountingTransport()
    async with httpx.AsyncClient(transport=transport) as http:
        refresher = TokenRefresher(InMemoryTokenStore(TOKENS), no_secret, http)
        tokens = await refresher.replace("member-1", "older-access")
    assert tokens.access_token == "current-access"
    assert transport.paths == []


async def test_missing_client_secret_means_reinstall() -> None:
    transport = CountingTransport()
    async with httpx.AsyncClient(transport=transport) as http:
        refresher = TokenRefresher(InMemoryTokenStore(TOKENS), no_secret, http)
        with pytest.raises(AuthRevokedError) as caught:
            await refresher.replace("member-1", "current-access")
    assert caught.value.code == "invalid_client"
    assert transport.paths == []
