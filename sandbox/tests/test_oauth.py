"""OAuth token endpoint and token lifetimes (contract §5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from sandbox.tests.conftest import InstalledApp, RunningSandbox


TOKEN_FIELDS = {
    "access_token",
    "client_endpoint",
    "domain",
    "expires",
    "expires_in",
    "member_id",
    "refresh_token",
    "scope",
    "server_endpoint",
    "status",
    "user_id",
}


def _refresh(
    client: httpx.Client, app: InstalledApp, refresh_token: str, secret: str | None = None
) -> httpx.Response:
    return client.get(
        "/oauth/token/",
        params={
            "grant_type": "refresh_token",
            "client_id": app.client_id,
            "client_secret": secret or app.client_secret,
            "refresh_token": refresh_token,
        },
    )


def test_refresh_answers_the_eleven_fields(
    client: httpx.Client, installed_app: InstalledApp, sandbox: RunningSandbox
) -> None:
    response = _refresh(client, installed_app, installed_app.refresh_token)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == TOKEN_FIELDS
    assert body["client_endpoint"] == f"{sandbox.base_url}/rest/"
    assert body["server_endpoint"] == f"{sandbox.base_url}/rest/"
    assert body["domain"] == f"127.0.0.1:{sandbox.port}"
    assert body["expires_in"] == 3600
    assert len(body["access_token"]) == 32
    assert body["member_id"] == installed_app.member_id
    assert body["status"] == "L"
    assert body["user_id"] == 1
    profile = client.post("/rest/profile.json", json={"auth": body["access_token"]})
    assert profile.status_code == 200


def test_refresh_rotates_and_old_refresh_token_is_invalid_grant(
    client: httpx.Client, installed_app: InstalledApp
) -> None:
    first = _refresh(client, installed_app, installed_app.refresh_token).json()
    assert first["refresh_token"] != installed_app.refresh_token
    again = _refresh(client, installed_app, installed_app.refresh_token)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert _refresh(client, installed_app, first["refresh_token"]).status_code == 200


def test_wrong_secret_is_invalid_client(client: httpx.Client, installed_app: InstalledApp) -> None:
    response = _refresh(client, installed_app, installed_app.refresh_token, secret="wrong")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"
    # the refused request did not spend the refresh token
    assert _refresh(client, installed_app, installed_app.refresh_token).status_code == 200


def test_missing_grant_type_is_invalid_request(client: httpx.Client, installed_app: InstalledApp) -> None:
    response = client.get("/oauth/token/", params={"client_id": installed_app.client_id})
    assert response.status_code == 400
    assert set(response.json()) == {"error", "error_description"}
    assert response.json()["error"] == "invalid_request"


def test_authorization_code_grant_and_its_30_second_life(
    client: httpx.Client, installed_app: InstalledApp
) -> None:
    def exchange(code: str) -> httpx.Response:
        return client.get(
            "/oauth/token/",
            params={
                "grant_type": "authorization_code",
                "client_id": installed_app.client_id,
                "client_secret": installed_app.client_secret,
                "code": code,
            },
        )

    code = client.post(
        "/_sandbox/oauth/codes", json={"client_id": installed_app.client_id, "user_id": 2}
    ).json()
    body = exchange(code["code"]).json()
    assert set(body) == TOKEN_FIELDS
    assert body["user_id"] == 2
    assert exchange(code["code"]).json()["error"] == "invalid_grant"  # a code is single-use
    late = client.post("/_sandbox/oauth/codes", json={"client_id": installed_app.client_id}).json()
    client.post("/_sandbox/clock", json={"seconds": 31})
    assert exchange(late["code"]).json()["error"] == "invalid_grant"


def test_expire_all_tokens_then_refresh(client: httpx.Client, installed_app: InstalledApp) -> None:
    assert client.post("/_sandbox/tokens/expire").json()["expired"] >= 1
    response = client.post("/rest/profile.json", json={"auth": installed_app.access_token})
    assert response.json()["error"] == "expired_token"
    fresh = _refresh(client, installed_app, installed_app.refresh_token).json()["access_token"]
    assert client.post("/rest/profile.json", json={"auth": fresh}).status_code == 200


def test_token_lifetime_is_configurable(client: httpx.Client, installed_app: InstalledApp) -> None:
    client.put("/_sandbox/limits", json={"token_lifetime": 60}).raise_for_status()
    fresh = _refresh(client, installed_app, installed_app.refresh_token).json()
    assert fresh["expires_in"] == 60
    client.post("/_sandbox/clock", json={"seconds": 61})
    assert client.post("/rest/profile.json", json={"auth": fresh["access_token"]}).status_code == 401


def test_separate_oauth_host(start_sandbox: Callable[..., RunningSandbox]) -> None:
    other = start_sandbox(oauth_host="oauth.sandbox.test")
    with httpx.Client(base_url=other.base_url, timeout=10) as http:
        app = http.post("/_sandbox/apps", json={"name": "a"}).json()
        tokens = http.post(f"/_sandbox/apps/{app['client_id']}/install").json()
        assert tokens["server_endpoint"] == "http://oauth.sandbox.test/rest/"
        refreshed = http.get(
            "/oauth/token/",
            params={
                "grant_type": "refresh_token",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "refresh_token": tokens["refresh_token"],
            },
        ).json()
        assert refreshed["domain"] == "oauth.sandbox.test"
        assert refreshed["client_endpoint"] == f"{other.base_url}/rest/"
        # app.info answers on the OAuth host too (contract §5.5)
        info = http.get(
            "/rest/app.info/",
            params={"auth": refreshed["access_token"]},
            headers={"Host": "oauth.sandbox.test"},
        )
        assert info.status_code == 200
        assert info.json()["result"]["client_id"] == app["client_id"]
