"""Token life cycle through the official SDK: expiry, automatic refresh and rotation, the
authorization-code grant and app.info on the OAuth host (contract §5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from b24pysdk import BitrixToken
from b24pysdk.errors import BitrixAPIExpiredToken
from b24pysdk.errors.oauth import BitrixOAuthInvalidClient, BitrixOAuthInvalidGrant
from sandbox.tests.sdk_support import (
    SandboxOAuthApp,
    SdkPortal,
    portal_fixture,  # noqa: F401  (the `portal` fixture)
)


def _statuses(portal: SdkPortal, method: str) -> list[tuple[int, str | None]]:
    return [(c["status"], c["error"]) for c in portal.calls(method)]


EXPIRE: dict[str, tuple[str, dict[str, Any] | None]] = {
    "control": ("tokens/expire", None),
    "clock": ("clock", {"seconds": 3601}),  # contract §5.1: access tokens live 3600 s
}


@pytest.mark.parametrize("how", sorted(EXPIRE))
def test_expired_token_is_refreshed_and_rotated(portal: SdkPortal, how: str) -> None:
    token = portal.token
    old_access, old_refresh = token.auth_token, token.refresh_token
    portal.ok(*EXPIRE[how])
    assert portal.client.imconnector.list().result  # the SDK refreshes and repeats the call
    # contract §5.4: the first attempt got 401 expired_token, the repeat succeeded
    assert _statuses(portal, "imconnector.list") == [(401, "expired_token"), (200, None)]
    assert token.auth_token != old_access
    assert token.refresh_token not in (None, old_refresh)  # contract §5.1: a new refresh token
    with pytest.raises(BitrixOAuthInvalidGrant):  # the spent refresh token is dead (HTTP 400)
        portal.app.refresh_oauth_token(old_refresh)
    renewed = portal.app.refresh_oauth_token(token.refresh_token)  # the rotated one works
    assert renewed.member_id == portal.installed["member_id"]
    assert renewed.client_endpoint == f"https://{portal.domain}/rest/"
    fresh = BitrixToken(
        domain=portal.domain, auth_token=renewed.oauth_token.access_token, bitrix_app=portal.app
    )
    assert fresh.call_method("profile")["result"]["ID"] == "1"


def test_token_known_to_be_expired_is_refreshed_before_the_call(portal: SdkPortal) -> None:
    token = portal.token
    token.expires = datetime.now(UTC) - timedelta(seconds=1)
    old_access = token.auth_token
    assert token.call_method("profile")["result"]["ID"] == "1"
    assert token.auth_token != old_access
    assert _statuses(portal, "profile") == [(200, None)]  # refreshed first, one call only


def test_expired_token_without_refresh_token_surfaces(portal: SdkPortal) -> None:
    one_off = BitrixToken(domain=portal.domain, auth_token=portal.token.auth_token, bitrix_app=portal.app)
    portal.ok("tokens/expire")
    with pytest.raises(BitrixAPIExpiredToken):  # contract §5.4: 401 expired_token
        one_off.call_method("profile")


def test_authorization_code_grant(portal: SdkPortal) -> None:
    code = portal.ok("oauth/codes", {"client_id": portal.app.client_id, "user_id": 2})["code"]
    granted = portal.app.get_oauth_token(code)
    assert granted.user_id == 2
    assert granted.oauth_token.refresh_token
    token = BitrixToken(
        domain=portal.domain, auth_token=granted.oauth_token.access_token, bitrix_app=portal.app
    )
    assert token.call_method("profile")["result"]["ID"] == "2"
    with pytest.raises(BitrixOAuthInvalidGrant):  # a code is redeemed once
        portal.app.get_oauth_token(code)


def test_wrong_client_secret_is_invalid_client(portal: SdkPortal) -> None:
    wrong = SandboxOAuthApp(
        client_id=portal.app.client_id,
        client_secret="not-the-secret",
        server_endpoint=portal.installed["server_endpoint"],
    )
    with pytest.raises(BitrixOAuthInvalidClient):  # contract §5.3, HTTP 400
        wrong.refresh_oauth_token(portal.token.refresh_token)


def test_app_info_on_the_oauth_host(portal: SdkPortal) -> None:
    info = portal.token.get_app_info().result
    assert info.client_id == portal.app.client_id
    assert info.user_id == 1
    assert info.install.member_id == portal.installed["member_id"]
    assert info.install.installed is True  # an API-only app is installed at once (contract §6.2)
