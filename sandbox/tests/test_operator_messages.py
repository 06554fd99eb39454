"""Operator side: MessageAdd/Update/Delete, delivery, signatures, files (contract §8.10, §9.1-§9.3)."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from sandbox.tests.conftest import EventReceiver, InstalledApp, install_app
from sandbox.tests.openlines_helpers import (
    CONNECTOR,
    assert_fixture,
    connect,
    error,
    events_at,
    ok,
    operator_message,
    register,
    send,
    settle,
    wait_decoded,
)

PNG_1x1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def _ids(sent: dict[str, Any], item: dict[str, Any]) -> dict[str, str]:
    return {
        str(sent["bitrix_chat_id"]): "<bitrix_chat_id>",
        str(sent["bitrix_message_id"]): "<bitrix_message_id>",
        item["session"]["ID"]: "<session_id>",
        item["user"]: "<customer_user_id>",
    }


def _confirm(client: httpx.Client, app: InstalledApp, sent: dict[str, Any], *external_ids: str) -> Any:
    element = {
        "im": {"chat_id": sent["bitrix_chat_id"], "message_id": sent["bitrix_message_id"]},
        "message": {"id": list(external_ids), "date": 1773266000},
        "chat": {"id": "chat-1"},
    }
    params = {"CONNECTOR": CONNECTOR, "LINE": 1, "MESSAGES": [element]}
    return ok(client, app, "imconnector.send.status.delivery", params)


def _message(client: httpx.Client, sent: dict[str, Any]) -> dict[str, Any]:
    conversation = client.get(f"/_sandbox/conversations/{sent['bitrix_chat_id']}").json()
    found: dict[str, Any] = next(
        m for m in conversation["messages"] if m["bitrix_message_id"] == sent["bitrix_message_id"]
    )
    return found


def test_operator_message_fires_message_add(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    connect(client, installed_app)
    [item] = send(client, installed_app)
    sent = operator_message(client, "Guten Tag!")
    assert str(sent["bitrix_chat_id"]) == item["session"]["CHAT_ID"]
    [event] = wait_decoded(receiver, "ONIMCONNECTORMESSAGEADD")
    assert_fixture(event, "text_with_signature", _ids(sent, item))


def test_signature_docs_variant_and_off_switches(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    connect(client, installed_app)
    send(client, installed_app)
    assert client.put("/_sandbox/faults", json={"variants": {"signature_format": "docs"}}).status_code == 200
    operator_message(client, "one")
    register(client, installed_app, NEED_SIGNATURE="N")
    operator_message(client, "two")
    texts = sorted(
        e["data"]["MESSAGES"][0]["message"]["text"]
        for e in wait_decoded(receiver, "ONIMCONNECTORMESSAGEADD", 2)
    )
    assert texts == ["[b]Anna Operator:[/b] [br]one", "two"]


def test_operator_files_have_downloadable_links(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    connect(client, installed_app)
    [item] = send(client, installed_app)
    body = {
        "line": 1,
        "chat_id": "chat-1",
        "connector": CONNECTOR,
        "text": "",
        "files": [
            {"name": "dot.png", "content_base64": base64.b64encode(PNG_1x1).decode(), "mime": "image/png"}
        ],
    }
    response = client.post("/_sandbox/operator/messages", json=body)
    assert response.status_code == 201, response.text
    sent = response.json()
    [event] = wait_decoded(receiver, "ONIMCONNECTORMESSAGEADD")
    link = event["data"]["MESSAGES"][0]["message"]["files"][0]["link"]
    assert httpx.get(link).content == PNG_1x1
    assert httpx.get(link.split("?")[0]).status_code == 404  # contract §16 #4: the token is the secret
    ids = {**_ids(sent, item), link: "<file_link>"}
    assert_fixture(event, "image_file", ids)


def test_file_links_needing_portal_auth(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    assert (
        client.put("/_sandbox/faults", json={"variants": {"file_links_need_auth": True}}).status_code == 200
    )
    connect(client, installed_app)
    send(client, installed_app)
    files = [{"name": "a.txt", "content_base64": base64.b64encode(b"abc").decode()}]
    body = {"line": 1, "chat_id": "chat-1", "connector": CONNECTOR, "text": "f", "files": files}
    assert client.post("/_sandbox/operator/messages", json=body).status_code == 201
    [event] = wait_decoded(receiver, "ONIMCONNECTORMESSAGEADD")
    link = event["data"]["MESSAGES"][0]["message"]["files"][0]["link"]
    assert httpx.get(link).status_code == 401
    assert httpx.get(link, params={"auth": installed_app.access_token}).content == b"abc"


def test_delivery_then_edit_and_delete_fire_events(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    connect(client, installed_app)
    [item] = send(client, installed_app)
    sent = operator_message(client, "What questions do you have?")
    assert _confirm(client, installed_app, sent, "ext-out-1", "ext-out-2") == {"SUCCESS": True, "DATA": []}
    stored = _message(client, sent)
    assert stored["delivered"] is True and stored["connector_mid"] == ["ext-out-1", "ext-out-2"]
    assert (
        client.patch(
            f"/_sandbox/operator/messages/{sent['bitrix_message_id']}", json={"text": "Edited"}
        ).status_code
        == 200
    )
    [update] = wait_decoded(receiver, "ONIMCONNECTORMESSAGEUPDATE")
    assert_fixture(update, "confirmed", _ids(sent, item))
    assert client.delete(f"/_sandbox/operator/messages/{sent['bitrix_message_id']}").status_code == 200
    [delete] = wait_decoded(receiver, "ONIMCONNECTORMESSAGEDELETE")
    assert_fixture(delete, "two_external_ids", _ids(sent, item))


def test_edit_and_delete_without_confirmation_fire_nothing(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    connect(client, installed_app)
    send(client, installed_app)
    sent = operator_message(client)
    assert (
        client.patch(
            f"/_sandbox/operator/messages/{sent['bitrix_message_id']}", json={"text": "x"}
        ).status_code
        == 200
    )
    assert client.delete(f"/_sandbox/operator/messages/{sent['bitrix_message_id']}").status_code == 200
    settle(client)
    assert (
        receiver.events("ONIMCONNECTORMESSAGEUPDATE") == receiver.events("ONIMCONNECTORMESSAGEDELETE") == []
    )
    stored = _message(client, sent)
    assert stored["edited"] is True and stored["deleted"] is True and stored["delivered"] is False


def test_flags_forbid_edit_and_delete_events(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    connect(client, installed_app)
    register(client, installed_app, EDIT_INTERNAL_MESSAGES=False, DEL_INTERNAL_MESSAGES=False)
    send(client, installed_app)
    sent = operator_message(client)
    _confirm(client, installed_app, sent, "ext-1")
    client.patch(f"/_sandbox/operator/messages/{sent['bitrix_message_id']}", json={"text": "x"})
    client.delete(f"/_sandbox/operator/messages/{sent['bitrix_message_id']}")
    settle(client)
    assert (
        receiver.events("ONIMCONNECTORMESSAGEUPDATE") == receiver.events("ONIMCONNECTORMESSAGEDELETE") == []
    )


def test_message_events_only_reach_the_owning_app(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    other = install_app(client, receiver, "2")
    for event in ("OnImConnectorMessageAdd", "OnImConnectorDialogStart"):
        assert ok(client, other, "event.bind", {"event": event, "handler": other.handler_url}) is True
    connect(client, installed_app)
    send(client, installed_app)
    operator_message(client)
    wait_decoded(receiver, "ONIMCONNECTORMESSAGEADD")
    settle(client)
    assert events_at(receiver, "/handler2", "ONIMCONNECTORMESSAGEADD") == []
    assert events_at(receiver, "/handler2", "ONIMCONNECTORDIALOGSTART") == []


def test_operator_refused_when_status_false(client: httpx.Client, installed_app: InstalledApp) -> None:
    connect(client, installed_app)
    send(client, installed_app)
    ok(client, installed_app, "imconnector.set.error", {"CONNECTOR": CONNECTOR, "LINE": 1})
    body = {"line": 1, "chat_id": "chat-1", "connector": CONNECTOR, "text": "hi"}
    response = client.post("/_sandbox/operator/messages", json=body)
    assert response.status_code == 409 and response.json()["error"] == "REFUSED"


def test_delivery_needs_no_active_line_but_a_connector(
    client: httpx.Client, installed_app: InstalledApp
) -> None:
    register(client, installed_app)
    element = {"im": {"chat_id": 1, "message_id": 1}, "message": {"id": ["x"]}, "chat": {"id": "c"}}
    params = {"CONNECTOR": CONNECTOR, "LINE": 1, "MESSAGES": [element]}
    for method in ("imconnector.send.status.delivery", "imconnector.send.status.reading"):
        assert ok(client, installed_app, method, params) == {"SUCCESS": True, "DATA": []}
        status, body = error(client, installed_app, method, {**params, "CONNECTOR": "ghost"})
        assert (status, body["error"]) == (400, "IMCONNECTOR_NO_CORRECT_PROVIDER")


@pytest.mark.parametrize(
    "body",
    [
        {"line": "x", "chat_id": "chat-1", "connector": CONNECTOR, "text": "a"},
        {"line": 1, "chat_id": 5, "connector": CONNECTOR, "text": "a"},
        {
            "line": 1,
            "chat_id": "chat-1",
            "connector": CONNECTOR,
            "files": [{"name": "a", "content_base64": "!!"}],
        },
    ],
)
def test_operator_bad_input_is_400(
    client: httpx.Client, installed_app: InstalledApp, body: dict[str, Any]
) -> None:
    connect(client, installed_app)
    send(client, installed_app)
    response = client.post("/_sandbox/operator/messages", json=body)
    assert response.status_code == 400 and set(response.json()) == {"error", "error_description"}


def test_operator_unknown_chat_is_404(client: httpx.Client) -> None:
    body = {"line": 1, "chat_id": "nope", "connector": CONNECTOR, "text": "a"}
    response = client.post("/_sandbox/operator/messages", json=body)
    assert response.status_code == 404 and response.json()["error"] == "NOT_FOUND"
