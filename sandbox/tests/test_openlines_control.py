"""Control API of lines, sessions and conversations; line delete and session close events (§9.4-§9.7)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sandbox.tests.conftest import EventReceiver, InstalledApp, install_app
from sandbox.tests.openlines_helpers import (
    CONNECTOR,
    assert_fixture,
    connect,
    decoded,
    element,
    events_at,
    ok,
    send,
    wait_decoded,
)


def test_lines_create_list_delete(client: httpx.Client) -> None:
    created = client.post("/_sandbox/lines", json={"name": "Sales", "active": False})
    assert created.status_code == 201
    line = created.json()
    assert (line["name"], line["active"]) == ("Sales", False)
    assert [item["name"] for item in client.get("/_sandbox/lines").json()] == ["Sandbox line", "Sales"]
    assert client.delete(f"/_sandbox/lines/{line['id']}").status_code == 200
    assert client.delete(f"/_sandbox/lines/{line['id']}").status_code == 404


def test_line_delete_fires_status_delete_and_line_delete_to_every_app(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    other = install_app(client, receiver, "2")
    assert ok(client, other, "event.bind", {"event": "OnImConnectorLineDelete", "handler": other.handler_url})
    assert ok(
        client, other, "event.bind", {"event": "OnImConnectorStatusDelete", "handler": other.handler_url}
    )
    line = client.post("/_sandbox/lines", json={"name": "Temp"}).json()["id"]
    connect(client, installed_app, line=line)
    assert client.delete(f"/_sandbox/lines/{line}").status_code == 200
    [status_delete] = wait_decoded(receiver, "ONIMCONNECTORSTATUSDELETE")
    assert status_delete["data"] == {"connector": CONNECTOR, "line": str(line)}
    deliveries = receiver.wait_event("ONIMCONNECTORLINEDELETE", 2)
    assert sorted(r.path for r in deliveries) == [
        "/handler",
        "/handler2",
    ]  # contract §9.4: no ownership filter
    assert_fixture(decoded(deliveries[0]), "control", {str(line): "<line_id>"})
    assert events_at(receiver, "/handler2", "ONIMCONNECTORSTATUSDELETE") == []
    assert client.get("/_sandbox/connectors").json()["statuses"] == []


def test_disconnect_fires_status_delete(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    connect(client, installed_app)
    response = client.post(f"/_sandbox/lines/1/connectors/{CONNECTOR}/disconnect")
    assert response.status_code == 200
    [event] = wait_decoded(receiver, "ONIMCONNECTORSTATUSDELETE")
    assert event["data"] == {"connector": CONNECTOR, "line": "1"}
    assert client.post(f"/_sandbox/lines/1/connectors/{CONNECTOR}/disconnect").status_code == 404
    assert (
        ok(client, installed_app, "imconnector.status", {"CONNECTOR": CONNECTOR, "LINE": 1})["STATUS"]
        is False
    )


def test_session_close_and_reopen(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    connect(client, installed_app)
    [first] = send(client, installed_app)
    session_id = first["session"]["ID"]
    assert client.post(f"/_sandbox/sessions/{session_id}/close").status_code == 200
    [finish] = wait_decoded(receiver, "ONIMCONNECTORDIALOGFINISH")
    ids = {first["user"]: "<customer_user_id>", session_id: "<session_id>"}
    assert_fixture(finish, "operator_closed", ids)
    assert client.post(f"/_sandbox/sessions/{session_id}/close").status_code == 409
    [second] = send(client, installed_app, element("again", mid="m-2"))
    assert second["session"]["CHAT_ID"] == first["session"]["CHAT_ID"]
    assert second["session"]["ID"] != session_id
    starts = wait_decoded(receiver, "ONIMCONNECTORDIALOGSTART", 2)
    parents = sorted(s["data"]["DATA"][0]["session"]["parent_id"] for s in starts)
    assert parents == ["0", session_id]
    conversation = client.get(f"/_sandbox/conversations/{first['session']['CHAT_ID']}").json()
    assert [(s["closed"], s["parent_id"]) for s in conversation["sessions"]] == [
        (True, 0),
        (False, int(session_id)),
    ]


def test_conversations_list_and_detail(client: httpx.Client, installed_app: InstalledApp) -> None:
    connect(client, installed_app)
    [item] = send(client, installed_app)
    listed = client.get("/_sandbox/conversations").json()
    assert [(c["bitrix_chat_id"], c["connector"], c["line"], c["external_chat_id"]) for c in listed] == [
        (int(item["session"]["CHAT_ID"]), CONNECTOR, 1, "chat-1")
    ]
    assert "messages" not in listed[0]
    detail = client.get(f"/_sandbox/conversations/{item['session']['CHAT_ID']}").json()
    assert detail["customer"]["xml_id"] == f"{CONNECTOR}|user-1"
    [message] = detail["messages"]
    assert (message["direction"], message["author_id"], message["connector_mid"]) == (
        "in",
        int(item["user"]),
        ["m-1"],
    )


def test_connectors_view(client: httpx.Client, installed_app: InstalledApp) -> None:
    connect(client, installed_app)
    state = client.get("/_sandbox/connectors").json()
    assert [c["id"] for c in state["connectors"]] == [CONNECTOR]
    assert [(s["line"], s["status"], s["configured"]) for s in state["statuses"]] == [(1, True, True)]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/_sandbox/conversations/abc", None),
        ("GET", "/_sandbox/conversations/999999", None),
        ("DELETE", "/_sandbox/lines/abc", None),
        ("POST", "/_sandbox/lines", ["not", "an", "object"]),
        ("POST", "/_sandbox/lines", {"name": 5}),
        ("POST", "/_sandbox/sessions/1/close", None),
        ("PATCH", "/_sandbox/operator/messages/1", {"text": "x"}),
        ("DELETE", "/_sandbox/operator/messages/zz", None),
    ],
)
def test_bad_input_is_a_json_4xx(client: httpx.Client, method: str, path: str, body: Any) -> None:
    response = client.request(method, path, json=body)
    assert 400 <= response.status_code < 500
    assert set(response.json()) == {"error", "error_description"}


def test_uninstall_removes_connectors(client: httpx.Client, installed_app: InstalledApp) -> None:
    connect(client, installed_app)
    response = client.post(f"/_sandbox/apps/{installed_app.client_id}/uninstall")
    assert response.status_code == 200, response.text
    assert client.get("/_sandbox/connectors").json() == {"connectors": [], "statuses": []}


def test_state_survives_save_and_restore(
    client: httpx.Client, installed_app: InstalledApp, tmp_path: Path
) -> None:
    connect(client, installed_app)
    [item] = send(client, installed_app)
    path = str(tmp_path / "state.json")
    assert client.post("/_sandbox/state/save", json={"path": path}).status_code == 200
    client.post("/_sandbox/reset")
    assert client.get("/_sandbox/conversations").json() == []
    assert client.post("/_sandbox/state/restore", json={"path": path}).status_code == 200
    before = client.get(f"/_sandbox/conversations/{item['session']['CHAT_ID']}").json()
    assert [m["text"] for m in before["messages"]] == ["Hello"]
    [again] = send(client, installed_app, element("next", mid="m-2"))
    assert again["session"] == item["session"] and again["user"] == item["user"]
