"""REST transport over real HTTP: parameter sources, envelopes, error codes, statuses (contract §2, §5.4)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

from b24sandbox.registry import BASIC_SCOPE, CallContext, rest_method

if TYPE_CHECKING:
    from sandbox.tests.conftest import InstalledApp, RunningSandbox


# Test-only methods: they echo their input, fail on purpose, or return a pass-through error body.


@rest_method("sandboxtest.echo", scope=BASIC_SCOPE)
async def _echo(ctx: CallContext) -> dict[str, Any]:
    return {"params": ctx.params, "user_id": ctx.user_id, "auth_kind": ctx.auth_kind}


@rest_method("sandboxtest.boom", scope=BASIC_SCOPE)
async def _boom(ctx: CallContext) -> None:
    raise RuntimeError("secret internal detail")


@rest_method("sandboxtest.passthrough", scope=BASIC_SCOPE, passthrough_errors=True)
async def _passthrough(ctx: CallContext) -> dict[str, Any]:
    return {"result": False, "error": "SOME_ERROR", "error_description": "It failed"}


@rest_method("sandboxtest.apponly", scope=BASIC_SCOPE, app_only=True)
async def _app_only(ctx: CallContext) -> bool:
    return True


@rest_method("sandboxtest.scoped", scope="crm")
async def _scoped(ctx: CallContext) -> bool:
    return True


def test_json_body_with_auth_and_envelope(client: httpx.Client, installed_app: InstalledApp) -> None:
    response = client.post(
        "/rest/sandboxtest.echo.json",
        json={"auth": installed_app.access_token, "MESSAGES": [{"user": {"id": "7"}}], "n": 5},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["x-bitrix-rest-application"] == installed_app.client_id
    body = response.json()
    assert body["result"]["params"] == {"MESSAGES": [{"user": {"id": "7"}}], "n": 5}  # auth is not a param
    assert body["result"]["auth_kind"] == "oauth"
    timing = body["time"]
    assert set(timing) == {"start", "finish", "duration", "processing", "date_start", "date_finish"}
    assert timing["finish"] >= timing["start"]
    assert timing["date_start"].endswith("+00:00")


def test_urlencoded_bracket_keys_become_nested_lists(
    client: httpx.Client, installed_app: InstalledApp
) -> None:
    response = client.post(
        "/rest/sandboxtest.echo",
        data={
            "auth": installed_app.access_token,
            "MESSAGES[0][user][id]": "7",
            "MESSAGES[0][message][text]": "hi",
            "MESSAGES[1][user][id]": "8",
            "FIELDS[NAME]": "x",
        },
    )
    assert response.json()["result"]["params"] == {
        "MESSAGES": [{"user": {"id": "7"}, "message": {"text": "hi"}}, {"user": {"id": "8"}}],
        "FIELDS": {"NAME": "x"},
    }


def test_get_query_string_and_case_insensitive_method(
    client: httpx.Client, installed_app: InstalledApp
) -> None:
    response = client.get(
        "/rest/SandboxTest.ECHO.json", params={"auth": installed_app.access_token, "a[]": ["1", "2"], "b": ""}
    )
    assert response.status_code == 200
    assert response.json()["result"]["params"] == {"a": ["1", "2"], "b": ""}


def test_multipart_fields_and_files(client: httpx.Client, installed_app: InstalledApp) -> None:
    response = client.post(
        "/rest/sandboxtest.echo",
        data={"auth": installed_app.access_token, "FIELDS[NAME]": "doc"},
        files={"FIELDS[FILE]": ("a.txt", b"hello", "text/plain")},
    )
    assert response.json()["result"]["params"] == {"FIELDS": {"NAME": "doc", "FILE": ["a.txt", "aGVsbG8="]}}


def test_query_auth_with_json_body(client: httpx.Client, installed_app: InstalledApp) -> None:
    response = client.post(
        "/rest/sandboxtest.echo.json", params={"auth": installed_app.access_token}, json={"x": 1}
    )
    assert response.json()["result"]["params"] == {"x": 1}


def test_invalid_json_body_is_a_400_not_a_500(client: httpx.Client, installed_app: InstalledApp) -> None:
    response = client.post(
        f"/rest/sandboxtest.echo.json?auth={installed_app.access_token}",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "INVALID_REQUEST"
    assert "time" not in response.json()


@pytest.mark.parametrize(
    ("auth", "status", "error"),
    [
        (None, 401, "NO_AUTH_FOUND"),
        ("", 401, "NO_AUTH_FOUND"),
        ("0123456789abcdef0123456789abcdef", 401, "invalid_token"),
    ],
)
def test_auth_errors(
    client: httpx.Client, sandbox: RunningSandbox, auth: str | None, status: int, error: str
) -> None:
    params = {} if auth is None else {"auth": auth}
    response = client.post("/rest/profile.json", json=params)
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert "time" not in body


def test_expired_token(client: httpx.Client, installed_app: InstalledApp) -> None:
    client.post("/_sandbox/clock", json={"seconds": 3601}).raise_for_status()
    response = client.post("/rest/profile.json", json={"auth": installed_app.access_token})
    assert response.status_code == 401
    assert response.json() == {
        "error": "expired_token",
        "error_description": "The access token provided has expired.",
    }


def test_unknown_method_is_404(client: httpx.Client, installed_app: InstalledApp) -> None:
    response = client.post("/rest/no.such.method", data={"auth": installed_app.access_token})
    assert response.status_code == 404
    assert response.json() == {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}


def test_malformed_rest_path_is_404(client: httpx.Client, sandbox: RunningSandbox) -> None:
    assert client.post("/rest/a/b").status_code == 404


def test_insufficient_scope(client: httpx.Client, installed_app: InstalledApp) -> None:
    response = client.post("/rest/sandboxtest.scoped", data={"auth": installed_app.access_token})
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"


def test_internal_error_has_no_traceback(client: httpx.Client, installed_app: InstalledApp) -> None:
    response = client.post("/rest/sandboxtest.boom", data={"auth": installed_app.access_token})
    assert response.status_code == 500
    assert response.json() == {"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"}
    assert "secret" not in response.text


def test_passthrough_error_is_unwrapped_with_200(client: httpx.Client, installed_app: InstalledApp) -> None:
    response = client.post("/rest/sandboxtest.passthrough", data={"auth": installed_app.access_token})
    assert response.status_code == 200
    assert response.json() == {"result": False, "error": "SOME_ERROR", "error_description": "It failed"}


def _webhook(client: httpx.Client, scope: list[str] | None = None) -> str:
    created = client.post("/_sandbox/webhooks", json={"user_id": 2, "scope": scope})
    assert created.status_code == 201
    url: str = created.json()["url"]
    return url


def test_webhook_calls_work_for_general_methods(client: httpx.Client, sandbox: RunningSandbox) -> None:
    url = _webhook(client)
    response = client.post(f"{url}sandboxtest.echo.json", json={"x": "1"})
    assert response.status_code == 200
    assert response.json()["result"] == {"params": {"x": "1"}, "user_id": 2, "auth_kind": "webhook"}


def test_webhook_is_refused_by_app_only_methods(client: httpx.Client, sandbox: RunningSandbox) -> None:
    url = _webhook(client)
    response = client.post(f"{url}sandboxtest.apponly")
    assert response.status_code == 403
    assert response.json() == {
        "error": "WRONG_AUTH_TYPE",
        "error_description": (
            "Current authorization type is denied for this method Application context required"
        ),
    }


def test_webhook_with_bad_code_is_no_auth_found(client: httpx.Client, sandbox: RunningSandbox) -> None:
    url = _webhook(client)
    bad = url.rstrip("/").rsplit("/", 1)[0] + "/wrongcode/"
    response = client.post(f"{bad}profile")
    assert response.status_code == 401
    assert response.json()["error"] == "NO_AUTH_FOUND"


def test_app_info_needs_app_context(client: httpx.Client, sandbox: RunningSandbox) -> None:
    url = _webhook(client)
    response = client.post(f"{url}app.info")
    assert response.status_code == 400
    assert response.json()["error"] == "ACCESS_DENIED"


def test_app_info_and_profile(client: httpx.Client, installed_app: InstalledApp) -> None:
    info = client.get("/rest/app.info", params={"auth": installed_app.access_token}).json()["result"]
    assert info["CODE"] == installed_app.client_id
    assert info["INSTALLED"] is True
    assert info["install"]["member_id"] == installed_app.member_id
    profile = client.get("/rest/profile", params={"auth": installed_app.access_token}).json()["result"]
    assert profile["ID"] == "1"
    assert profile["ADMIN"] is True


def test_methods_and_server_time(client: httpx.Client, installed_app: InstalledApp) -> None:
    names = client.get("/rest/methods", params={"auth": installed_app.access_token}).json()["result"]
    assert "event.bind" in names
    assert "sandboxtest.scoped" not in names  # the app lacks the crm scope
    now = client.get("/rest/server.time", params={"auth": installed_app.access_token}).json()["result"]
    assert now.endswith("+00:00")
