"""Helpers for the Open Channels tests: REST calls as the installed app, event decoding, fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from b24sandbox.phpform import parse_pairs

if TYPE_CHECKING:
    from sandbox.tests.conftest import EventReceiver, InstalledApp, Received

FIXTURES = Path(__file__).parent / "fixtures"
CONNECTOR = "testconn"
# Values of the event `auth` block that differ per run (contract §7.4).
DYNAMIC_AUTH_KEYS = (
    "access_token",
    "expires",
    "member_id",
    "application_token",
    "domain",
    "client_endpoint",
    "server_endpoint",
)
ICON = {"DATA_IMAGE": "data:image/svg+xml,%3Csvg%2F%3E", "COLOR": "#69acc0"}
CONNECTOR_EVENTS = (
    "OnImConnectorMessageAdd",
    "OnImConnectorMessageUpdate",
    "OnImConnectorMessageDelete",
    "OnImConnectorStatusDelete",
    "OnImConnectorLineDelete",
    "OnImConnectorDialogStart",
    "OnImConnectorDialogFinish",
)


def rest(client: httpx.Client, app: InstalledApp, method: str, params: dict[str, Any]) -> httpx.Response:
    """POST a JSON REST call with the app's token, as the official SDK does."""
    return client.post(f"/rest/{method}.json", json={**params, "auth": app.access_token})


def ok(client: httpx.Client, app: InstalledApp, method: str, params: dict[str, Any]) -> Any:
    """The `result` of a call that must succeed."""
    response = rest(client, app, method, params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "time" in body, body
    return body["result"]


def error(
    client: httpx.Client, app: InstalledApp, method: str, params: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """Status and body of a call that must fail."""
    response = rest(client, app, method, params)
    body = response.json()
    assert "error" in body, body
    return response.status_code, body


def register(client: httpx.Client, app: InstalledApp, connector: str = CONNECTOR, **extra: Any) -> None:
    """Register a connector of the app."""
    params = {
        "ID": connector,
        "NAME": "Test",
        "ICON": ICON,
        "PLACEMENT_HANDLER": f"{app.handler_url}/settings",
    }
    assert ok(client, app, "imconnector.register", {**params, **extra}) == {"result": True}


def bind(client: httpx.Client, app: InstalledApp, *events: str) -> None:
    """Bind the app's handler URL to events (all connector events by default)."""
    for event in events or CONNECTOR_EVENTS:
        assert ok(client, app, "event.bind", {"event": event, "handler": app.handler_url}) is True


def connect(client: httpx.Client, app: InstalledApp, line: int = 1, connector: str = CONNECTOR) -> None:
    """Register, bind and activate the connector on a line."""
    register(client, app, connector)
    bind(client, app)
    assert (
        ok(client, app, "imconnector.activate", {"CONNECTOR": connector, "LINE": line, "ACTIVE": 1}) is True
    )


def element(
    text: str = "Hello", *, chat: str = "chat-1", user: str = "user-1", mid: str = "m-1"
) -> dict[str, Any]:
    """One MESSAGES element of a customer message."""
    return {
        "user": {"id": user, "name": "Ivan"},
        "message": {"id": mid, "date": 1773265993, "text": text},
        "chat": {"id": chat},
    }


def send(
    client: httpx.Client, app: InstalledApp, *elements: dict[str, Any], line: int = 1
) -> list[dict[str, Any]]:
    """`imconnector.send.messages`; the per-element RESULT list."""
    result = ok(
        client,
        app,
        "imconnector.send.messages",
        {"CONNECTOR": CONNECTOR, "LINE": line, "MESSAGES": list(elements or [element()])},
    )
    assert result["SUCCESS"] is True
    items: list[dict[str, Any]] = result["DATA"]["RESULT"]
    return items


def operator_message(
    client: httpx.Client, text: str = "Hi there", *, chat: str = "chat-1", line: int = 1
) -> Any:
    """An operator writes into the chat through the control API."""
    response = client.post(
        "/_sandbox/operator/messages",
        json={"line": line, "chat_id": chat, "connector": CONNECTOR, "text": text},
    )
    assert response.status_code == 201, response.text
    return response.json()


def decoded(received: Received) -> dict[str, Any]:
    """An event body decoded from its PHP bracket form."""
    return parse_pairs(received.pairs)


def wait_decoded(receiver: EventReceiver, event: str, count: int = 1) -> list[dict[str, Any]]:
    """Wait for `count` deliveries of `event` and decode them."""
    return [decoded(r) for r in receiver.wait_event(event, count)]


def normalise(body: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """Replace dynamic values: envelope ids/time, auth secrets, and the given id → placeholder map."""
    out = json.loads(json.dumps(body))
    out["event_handler_id"] = "<handler_id>"
    out["ts"] = "<ts>"
    auth = out.get("auth", {})
    for key in DYNAMIC_AUTH_KEYS:
        if key in auth:
            auth[key] = f"<{key}>"
    swapped: dict[str, Any] = _swap(out, ids)
    return swapped


def _swap(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _swap(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v, ids) for v in value]
    if isinstance(value, str):
        for real, placeholder in ids.items():
            value = value.replace(real, placeholder) if real.startswith("http") else value
        return ids.get(value, value)
    return value


def assert_fixture(body: dict[str, Any], case: str, ids: dict[str, str] | None = None) -> None:
    """The normalised event body equals the payload fixture `<EVENT>__<case>.json`."""
    path = FIXTURES / f"{body['event']}__{case}.json"
    actual = normalise(body, ids or {})
    assert actual == json.loads(path.read_text())


def events_at(receiver: EventReceiver, path: str, event: str) -> list[Received]:
    """Deliveries of `event` that reached `path` on the receiver."""
    return [r for r in receiver.events(event) if r.path == path]


def settle(client: httpx.Client) -> None:
    """Wait until every event queued so far was attempted, so a missing event was never fired."""
    response = client.post("/_sandbox/events/drain", params={"timeout": 5})
    assert response.json() == {"drained": True}, response.text
