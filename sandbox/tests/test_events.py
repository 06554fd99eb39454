"""Event bindings, wire format, ownership filter and delivery mechanics (contract §7)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from sandbox.tests.conftest import EventReceiver, InstalledApp, Received, RestCall, RunningSandbox

CheckWire = Callable[["Received", str], None]


def _bind(rest: RestCall, app: InstalledApp, event: str = "OnAppTest", **extra: Any) -> httpx.Response:
    response: httpx.Response = rest(
        "event.bind", {"event": event, "handler": app.handler_url, **extra}, auth=app.access_token
    )
    return response


def test_bind_get_unbind(rest: RestCall, installed_app: InstalledApp) -> None:
    assert _bind(rest, installed_app, "onImConnectorMessageAdd").json()["result"] is True
    listed = rest("event.get", auth=installed_app.access_token).json()["result"]
    assert listed == [
        {
            "event": "ONIMCONNECTORMESSAGEADD",
            "handler": installed_app.handler_url,
            "auth_type": "0",
            "offline": 0,
        }
    ]
    removed = rest(
        "event.unbind",
        {"event": "OnImConnectorMessageAdd", "handler": installed_app.handler_url},
        auth=installed_app.access_token,
    ).json()["result"]
    assert removed == {"count": 1}
    assert rest("event.get", auth=installed_app.access_token).json()["result"] == []


def test_duplicate_bind_and_unknown_event(rest: RestCall, installed_app: InstalledApp) -> None:
    _bind(rest, installed_app)
    again = _bind(rest, installed_app, "ONAPPTEST")
    assert again.status_code == 400
    assert again.json() == {"error": "ERROR_CORE", "error_description": "Handler already binded"}
    unknown = _bind(rest, installed_app, "OnNoSuchThing")
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "ERROR_EVENT_NOT_FOUND"


def test_bind_needs_handler_and_app_context(
    client: httpx.Client, rest: RestCall, installed_app: InstalledApp
) -> None:
    missing = rest("event.bind", {"event": "OnAppTest"}, auth=installed_app.access_token)
    assert missing.status_code == 400
    assert missing.json()["error"] == "ERROR_ARGUMENT"
    hook = client.post("/_sandbox/webhooks", json={}).json()["url"]
    assert (
        client.post(f"{hook}event.bind", json={"event": "OnAppTest", "handler": "http://x"}).status_code
        == 403
    )


def test_events_lists_known_names(rest: RestCall, installed_app: InstalledApp) -> None:
    names = rest("events", auth=installed_app.access_token).json()["result"]
    assert "ONIMCONNECTORMESSAGEADD" in names
    assert "ONIMCONNECTORDIALOGFINISH" in names


def test_wire_format_of_a_user_event(
    rest: RestCall, installed_app: InstalledApp, receiver: EventReceiver, check_wire: CheckWire
) -> None:
    _bind(rest, installed_app)
    query = {
        "flag_on": True,
        "flag_off": False,
        "number": 42,
        "list": ["a", "b"],
        "nested": {"deep": {"value": "x"}},
        "empty_list": [],
        "empty_object": {},
        "nothing": None,
    }
    rest("event.test", query, auth=installed_app.access_token)
    (event,) = receiver.wait_event("ONAPPTEST")
    assert event.path == "/handler"
    assert event.headers["content-type"] == "application/x-www-form-urlencoded"
    assert event.body.startswith(b"event=ONAPPTEST&event_handler_id=")  # PHP http_build_query order
    check_wire(event, "ONAPPTEST__user_token")
    assert event.form["auth[application_token]"] == installed_app.application_token
    # the event's token is a fresh, valid access token of the app (contract §7.4)
    token = event.form["auth[access_token]"]
    assert token != installed_app.access_token
    assert rest("profile", auth=token).status_code == 200


def test_auth_type_binding_sends_that_users_token(
    rest: RestCall, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    assert _bind(rest, installed_app, auth_type=2).status_code == 200
    assert rest("event.get", auth=installed_app.access_token).json()["result"][0]["auth_type"] == "2"
    rest("event.test", auth=installed_app.access_token)
    (event,) = receiver.wait_event("ONAPPTEST")
    assert event.form["auth[user_id]"] == "2"


def test_ownership_filter(
    client: httpx.Client, rest: RestCall, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    other = client.post("/_sandbox/apps", json={"handler_url": f"{receiver.url}/other"}).json()
    other_token = client.post(f"/_sandbox/apps/{other['client_id']}/install").json()["access_token"]
    _bind(rest, installed_app)
    rest("event.bind", {"event": "OnAppTest", "handler": f"{receiver.url}/other"}, auth=other_token)
    rest("event.test", auth=installed_app.access_token)  # owner = the calling app
    receiver.wait_event("ONAPPTEST")
    assert client.post("/_sandbox/events/drain").json()["drained"] is True
    assert [r.path for r in receiver.events("ONAPPTEST")] == ["/handler"]


def test_delivery_is_asynchronous_after_the_call(
    client: httpx.Client, rest: RestCall, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    client.put("/_sandbox/events/config", json={"delay": 0.3}).raise_for_status()
    _bind(rest, installed_app)
    started = time.monotonic()
    assert rest("event.test", auth=installed_app.access_token).status_code == 200
    answered = time.monotonic()
    assert answered - started < 0.3
    assert receiver.events("ONAPPTEST") == []
    receiver.wait_event("ONAPPTEST", timeout=5)
    assert time.monotonic() - started >= 0.3


def test_no_retries_on_failure(
    client: httpx.Client, rest: RestCall, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    receiver.status = 500
    _bind(rest, installed_app)
    rest("event.test", auth=installed_app.access_token)
    receiver.wait_event("ONAPPTEST")
    assert client.post("/_sandbox/events/drain").json()["drained"] is True
    time.sleep(0.2)
    assert len(receiver.events("ONAPPTEST")) == 1
    (delivery,) = client.get("/_sandbox/events/deliveries", params={"event": "onapptest"}).json()[
        "deliveries"
    ]
    assert delivery["status"] == 500
    assert delivery["handler"] == installed_app.handler_url


def test_unreachable_handler_is_recorded(
    client: httpx.Client, rest: RestCall, installed_app: InstalledApp
) -> None:
    rest(
        "event.bind",
        {"event": "OnAppTest", "handler": "http://127.0.0.1:9/h"},
        auth=installed_app.access_token,
    )
    rest("event.test", auth=installed_app.access_token)
    assert client.post("/_sandbox/events/drain").json()["drained"] is True
    (delivery,) = client.get("/_sandbox/events/deliveries").json()["deliveries"]
    assert delivery["status"] is None
    assert delivery["error"].startswith("ConnectError")


def test_event_faults_drop_and_duplicate(
    client: httpx.Client, rest: RestCall, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    _bind(rest, installed_app)
    client.put("/_sandbox/faults", json={"events": {"drop_next": 1, "duplicate_next": 1}}).raise_for_status()
    rest("event.test", {"n": 1}, auth=installed_app.access_token)  # dropped
    rest("event.test", {"n": 2}, auth=installed_app.access_token)  # sent twice
    received = receiver.wait_event("ONAPPTEST", count=2)
    assert client.post("/_sandbox/events/drain").json()["drained"] is True
    assert [r.form["data[QUERY][n]"] for r in received] == ["2", "2"]
    assert len(receiver.events("ONAPPTEST")) == 2
    log = client.get("/_sandbox/events/deliveries").json()["deliveries"]
    assert [d["error"] for d in log if d["error"]] == ["dropped by fault injection"]


def test_bindings_listing(client: httpx.Client, rest: RestCall, installed_app: InstalledApp) -> None:
    _bind(rest, installed_app)
    (binding,) = client.get("/_sandbox/events/bindings").json()["bindings"]
    assert binding["event"] == "ONAPPTEST"
    assert binding["client_id"] == installed_app.client_id


def test_non_admin_cannot_bind_for_others_or_offline(
    client: httpx.Client, rest: RestCall, sandbox: RunningSandbox
) -> None:
    app = client.post("/_sandbox/apps", json={"name": "n"}).json()
    token = client.post(f"/_sandbox/apps/{app['client_id']}/install", json={"user_id": 2}).json()[
        "access_token"
    ]
    foreign = rest("event.bind", {"event": "OnAppTest", "handler": "http://x/h", "auth_type": 1}, auth=token)
    assert (foreign.status_code, foreign.json()["error"]) == (403, "ACCESS_DENIED")
    offline = rest("event.bind", {"event": "OnAppTest", "event_type": "offline"}, auth=token)
    assert (offline.status_code, offline.json()["error"]) == (403, "ACCESS_DENIED")
    own = rest("event.bind", {"event": "OnAppTest", "handler": "http://x/h", "auth_type": 2}, auth=token)
    assert own.status_code == 200


def test_slow_handler_times_out_once(
    client: httpx.Client, rest: RestCall, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    receiver.delay = 0.5
    assert client.put("/_sandbox/events/config", json={"timeout": 0.1}).json()["timeout"] == 0.1
    _bind(rest, installed_app)
    rest("event.test", auth=installed_app.access_token)
    assert client.post("/_sandbox/events/drain").json()["drained"] is True
    (delivery,) = client.get("/_sandbox/events/deliveries").json()["deliveries"]
    assert delivery["error"].startswith("ReadTimeout")
    assert len(receiver.events("ONAPPTEST")) == 1
