"""Control API behaviour: validation, logs, state save/restore, reset, pages."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from sandbox.tests.conftest import EventReceiver, InstalledApp, RestCall, RunningSandbox


def test_validation_errors_are_json(client: httpx.Client, sandbox: RunningSandbox) -> None:
    response = client.post("/_sandbox/apps", json={"install_url": "ftp://x"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "INVALID_REQUEST"
    assert "install_url" in body["error_description"]
    assert client.post("/_sandbox/clock", json={"seconds": -1}).status_code == 422
    assert (
        client.post("/_sandbox/apps", content=b"{", headers={"Content-Type": "application/json"}).status_code
        == 422
    )


def test_unknown_app_and_duplicate_client_id(client: httpx.Client, sandbox: RunningSandbox) -> None:
    missing = client.post("/_sandbox/apps/nope/install")
    assert (missing.status_code, missing.json()["error"]) == (404, "APP_NOT_FOUND")
    client.post("/_sandbox/apps", json={"client_id": "local.fixed", "client_secret": "s"})
    again = client.post("/_sandbox/apps", json={"client_id": "local.fixed"})
    assert (again.status_code, again.json()["error"]) == (409, "APP_EXISTS")
    (listed,) = client.get("/_sandbox/apps").json()
    assert (listed["client_id"], listed["client_secret"], listed["installed"]) == ("local.fixed", "s", False)


def test_unknown_route_is_json_404(client: httpx.Client, sandbox: RunningSandbox) -> None:
    response = client.get("/_sandbox/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"] == "NOT_FOUND"


def test_openapi_is_served(client: httpx.Client, sandbox: RunningSandbox) -> None:
    paths = client.get("/_sandbox/openapi.json").json()["paths"]
    assert "/_sandbox/apps" in paths
    assert "/_sandbox/faults" in paths


def test_call_log_filters_and_pages(
    client: httpx.Client, rest: RestCall, installed_app: InstalledApp
) -> None:
    rest("profile", auth=installed_app.access_token)
    rest("server.time", auth=installed_app.access_token)
    rest("profile", auth="0" * 32)
    calls = client.get("/_sandbox/calls", params={"method": "PROFILE"}).json()["calls"]
    assert [(c["status"], c["error"]) for c in calls] == [(200, None), (401, "invalid_token")]
    assert calls[0]["caller"] == installed_app.client_id
    assert calls[0]["duration"] >= 0
    later = client.get("/_sandbox/calls", params={"since": calls[0]["id"]}).json()["calls"]
    assert [c["method"] for c in later] == ["server.time", "profile"]


def test_state_save_and_restore(
    client: httpx.Client, rest: RestCall, installed_app: InstalledApp, tmp_path: Path
) -> None:
    rest(
        "event.bind",
        {"event": "OnAppTest", "handler": installed_app.handler_url},
        auth=installed_app.access_token,
    )
    client.put("/_sandbox/limits", json={"rate": "50/2"})
    connector = {"ID": "sbxsave", "NAME": "S", "ICON": {"DATA_IMAGE": "data:x"}, "PLACEMENT_HANDLER": "http://x/p"}
    assert rest("imconnector.register", connector, auth=installed_app.access_token).status_code == 200
    path = tmp_path / "state.json"
    assert client.post("/_sandbox/state/save", json={"path": str(path)}).status_code == 200
    client.post("/_sandbox/reset").raise_for_status()
    assert rest("profile", auth=installed_app.access_token).status_code == 401
    assert client.post("/_sandbox/state/restore", json={"path": str(path)}).status_code == 200
    assert rest("profile", auth=installed_app.access_token).status_code == 200
    assert len(rest("event.get", auth=installed_app.access_token).json()["result"]) == 1
    assert "sbxsave" in rest("imconnector.list", auth=installed_app.access_token).json()["result"]
    assert client.get("/_sandbox/limits").json()["rate"] == "50/2"
    bad = client.post("/_sandbox/state/restore", json={"path": str(tmp_path / "missing.json")})
    assert (bad.status_code, bad.json()["error"]) == (400, "STATE_NOT_RESTORED")


def test_reset_forgets_everything(client: httpx.Client, installed_app: InstalledApp) -> None:
    before = client.get("/_sandbox/apps").json()
    assert len(before) == 1
    client.post("/_sandbox/reset").raise_for_status()
    assert client.get("/_sandbox/apps").json() == []


def test_pages(client: httpx.Client, receiver: EventReceiver) -> None:
    app = client.post(
        "/_sandbox/apps", json={"name": "UI", "install_url": f"{receiver.url}/install", "api_only": False}
    ).json()
    index = client.get("/")
    assert index.status_code == 200
    assert f"/apps/{app['client_id']}/install" in index.text
    script = client.get("/bx24.js")
    assert script.headers["content-type"].startswith("application/javascript")
    assert "installFinish" in script.text
    frame = client.get(f"/apps/{app['client_id']}/install")
    assert frame.status_code == 200
    assert 'name="AUTH_ID"' in frame.text
    assert f"{receiver.url}/install?DOMAIN=" in frame.text
