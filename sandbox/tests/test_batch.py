"""The `batch` method (contract §3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from sandbox.tests.conftest import InstalledApp, RestCall


def _batch(rest: RestCall, app: InstalledApp, cmd: Any, **extra: Any) -> httpx.Response:
    response: httpx.Response = rest("batch", {"cmd": cmd, **extra}, auth=app.access_token)
    return response


def test_object_cmd_with_references(rest: RestCall, installed_app: InstalledApp) -> None:
    response = _batch(
        rest,
        installed_app,
        {
            "me": "profile",
            "info": "app.info",
            # handler = http://127.0.0.1:9/$result[me][ID], URL-encoded inside the command
            "bind": "event.bind?event=OnAppTest&handler="
            "http%3A%2F%2F127.0.0.1%3A9%2F%24result%5Bme%5D%5BID%5D",
            "list": "event.get",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"result", "time"}
    inner = body["result"]
    assert set(inner) == {"result", "result_error", "result_total", "result_next", "result_time"}
    assert inner["result_error"] == []
    assert inner["result_total"] == []
    assert inner["result"]["me"]["ID"] == "1"
    # `$result[me][ID]` was substituted inside the handler URL
    assert inner["result"]["list"][0]["handler"] == "http://127.0.0.1:9/1"
    assert set(inner["result_time"]["info"]) >= {"start", "finish", "duration", "processing"}


def test_list_cmd_gives_lists(rest: RestCall, installed_app: InstalledApp) -> None:
    inner = _batch(rest, installed_app, ["server.time", "profile"]).json()["result"]
    assert isinstance(inner["result"], list)
    assert len(inner["result"]) == 2
    assert inner["result"][1]["ID"] == "1"


def test_errors_go_to_result_error_and_halt_stops(rest: RestCall, installed_app: InstalledApp) -> None:
    cmd = {"a": "no.such.method", "b": "batch?cmd[x]=profile", "c": "profile"}
    inner = _batch(rest, installed_app, cmd).json()["result"]
    assert inner["result_error"]["a"]["error"] == "ERROR_METHOD_NOT_FOUND"
    assert inner["result_error"]["b"]["error"] == "ERROR_BATCH_METHOD_NOT_ALLOWED"
    assert inner["result"]["c"]["ID"] == "1"
    halted = _batch(rest, installed_app, cmd, halt=1).json()["result"]
    assert list(halted["result_error"]) == ["a"]
    assert halted["result"] == []


def test_more_than_fifty_commands(rest: RestCall, installed_app: InstalledApp) -> None:
    response = _batch(rest, installed_app, {f"c{i}": "server.time" for i in range(51)})
    assert response.status_code == 400
    assert response.json()["error"] == "ERROR_BATCH_LENGTH_EXCEEDED"
    assert _batch(rest, installed_app, {f"c{i}": "server.time" for i in range(50)}).status_code == 200


def test_sub_call_scope_is_checked(client: httpx.Client, rest: RestCall, installed_app: InstalledApp) -> None:
    hook = client.post("/_sandbox/webhooks", json={"scope": ["crm"]}).json()["url"]
    inner = client.post(f"{hook}batch", json={"cmd": {"a": "imconnector.list"}}).json()["result"]
    assert inner["result_error"]["a"]["error"] == "insufficient_scope"


def test_batch_counts_once_in_the_rate_limiter(
    client: httpx.Client, rest: RestCall, installed_app: InstalledApp
) -> None:
    client.put("/_sandbox/limits", json={"rate": "2/0"}).raise_for_status()
    response = _batch(rest, installed_app, {f"c{i}": "server.time" for i in range(10)})
    assert response.status_code == 200
    assert rest("server.time", auth=installed_app.access_token).status_code == 200
    assert rest("server.time", auth=installed_app.access_token).status_code == 503
    sub_calls = client.get("/_sandbox/calls", params={"method": "server.time"}).json()["calls"]
    assert sum(1 for c in sub_calls if c["in_batch"]) == 10
