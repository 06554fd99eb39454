"""Limits (leaky bucket, operating time) and injected faults, switched at run time (contract §4, §2.1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from sandbox.tests.conftest import InstalledApp, RestCall, RunningSandbox


def _time(rest: RestCall, app: InstalledApp) -> httpx.Response:
    response: httpx.Response = rest("server.time", auth=app.access_token)
    return response


def test_leaky_bucket_refuses_over_burst_and_drains(
    client: httpx.Client, rest: RestCall, installed_app: InstalledApp
) -> None:
    client.put("/_sandbox/limits", json={"rate": "5/0.5"}).raise_for_status()
    statuses = [_time(rest, installed_app).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [503]
    refused = _time(rest, installed_app)
    assert refused.json() == {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
    client.post("/_sandbox/clock", json={"seconds": 4})  # drains 2 units
    assert [_time(rest, installed_app).status_code for _ in range(3)] == [200, 200, 503]


@pytest.mark.parametrize("preset", ["50/2", "250/5", "off"])
def test_rate_presets(client: httpx.Client, sandbox: RunningSandbox, preset: str) -> None:
    assert client.put("/_sandbox/limits", json={"rate": preset}).json()["rate"] == preset


def test_bad_rate_preset_is_422(client: httpx.Client, sandbox: RunningSandbox) -> None:
    response = client.put("/_sandbox/limits", json={"rate": "fast"})
    assert response.status_code == 422
    assert response.json()["error"] == "INVALID_RATE"


def test_operating_time_limit(client: httpx.Client, rest: RestCall, installed_app: InstalledApp) -> None:
    client.put("/_sandbox/limits", json={"operating_limit": 0}).raise_for_status()
    first = _time(rest, installed_app)
    assert first.status_code == 200
    timing = first.json()["time"]
    assert timing["operating"] > 0
    assert isinstance(timing["operating_reset_at"], int)
    blocked = _time(rest, installed_app)
    assert blocked.status_code == 429
    assert blocked.json() == {
        "error": "OPERATION_TIME_LIMIT",
        "error_description": "Method is blocked due to operation time limit.",
    }
    assert rest("profile", auth=installed_app.access_token).status_code == 200  # other methods keep working
    client.post("/_sandbox/clock", json={"seconds": 601})
    assert _time(rest, installed_app).status_code == 200
    client.put("/_sandbox/limits", json={"operating_limit": None}).raise_for_status()
    assert "operating" not in _time(rest, installed_app).json()["time"]


def _fault(client: httpx.Client, **rule: Any) -> None:
    client.put("/_sandbox/faults", json={"errors": [rule]}).raise_for_status()


def _bindings(rest: RestCall, app: InstalledApp) -> list[Any]:
    result: list[Any] = rest("event.get", auth=app.access_token).json()["result"]
    return result


def test_forced_error_before_has_no_effect(
    client: httpx.Client, rest: RestCall, installed_app: InstalledApp
) -> None:
    _fault(client, method="Event.Bind", when="before", status=503, error="QUERY_LIMIT_EXCEEDED", count=1)
    params = {"event": "OnAppTest", "handler": installed_app.handler_url}
    failed = rest("event.bind", params, auth=installed_app.access_token)
    assert (failed.status_code, failed.json()["error"]) == (503, "QUERY_LIMIT_EXCEEDED")
    assert _bindings(rest, installed_app) == []
    assert rest("event.bind", params, auth=installed_app.access_token).status_code == 200  # count was 1


def test_forced_error_after_took_effect(
    client: httpx.Client, rest: RestCall, installed_app: InstalledApp
) -> None:
    _fault(client, method="event.bind", when="after", status=500, error="INTERNAL_SERVER_ERROR", fraction=1.0)
    params = {"event": "OnAppTest", "handler": installed_app.handler_url}
    assert rest("event.bind", params, auth=installed_app.access_token).status_code == 500
    assert len(_bindings(rest, installed_app)) == 1  # the ambiguous failure: it happened anyway


def test_hold_makes_the_client_time_out(client: httpx.Client, installed_app: InstalledApp) -> None:
    client.put("/_sandbox/faults", json={"holds": [{"method": "server.time", "seconds": 1, "count": 1}]})
    with pytest.raises(httpx.ReadTimeout):
        client.post("/rest/server.time", data={"auth": installed_app.access_token}, timeout=0.2)


def test_latency_and_fault_listing(client: httpx.Client, sandbox: RunningSandbox) -> None:
    shown = client.put("/_sandbox/faults", json={"latency": 0.05}).json()
    assert shown["latency"] == 0.05
    assert shown["errors"] == []
    assert "signature_format" in shown["variants"]


def test_variants_through_the_faults_api(client: httpx.Client, sandbox: RunningSandbox) -> None:
    shown = client.put("/_sandbox/faults", json={"variants": {"signature_format": "docs"}}).json()
    assert shown["variants"]["signature_format"] == "docs"
    bad = client.put("/_sandbox/faults", json={"variants": {"no_such_variant": True}, "latency": 1})
    assert bad.status_code == 422
    assert bad.json()["error"] == "INVALID_VARIANT"
    assert client.get("/_sandbox/faults").json()["latency"] == 0.0  # nothing changed


def test_domain_change_answers_302(
    client: httpx.Client, installed_app: InstalledApp, sandbox: RunningSandbox
) -> None:
    new_domain = f"localhost:{sandbox.port}"
    shown = client.put("/_sandbox/faults", json={"domain": new_domain}).json()
    assert shown["old_domains"] == [f"127.0.0.1:{sandbox.port}"]
    moved = client.post("/rest/profile.json?x=1", json={"auth": installed_app.access_token})
    assert moved.status_code == 302
    assert moved.headers["location"] == f"http://{new_domain}/rest/profile.json?x=1"
    there = httpx.post(moved.headers["location"], json={"auth": installed_app.access_token}, timeout=10)
    assert there.status_code == 200
    refreshed = httpx.get(
        f"http://{new_domain}/oauth/token/",
        params={
            "grant_type": "refresh_token",
            "client_id": installed_app.client_id,
            "client_secret": installed_app.client_secret,
            "refresh_token": installed_app.refresh_token,
        },
        timeout=10,
    ).json()
    assert refreshed["client_endpoint"] == f"http://{new_domain}/rest/"


def test_fault_validation(client: httpx.Client, sandbox: RunningSandbox) -> None:
    response = client.put("/_sandbox/faults", json={"errors": [{"method": "x", "status": 200, "error": "E"}]})
    assert response.status_code == 422
    assert response.json()["error"] == "INVALID_REQUEST"
    assert "status" in response.json()["error_description"]
