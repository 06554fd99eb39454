"""`imconnector.send/update/delete.messages` and `chat.name.set` (contract §8.7-§8.9, §8.12)."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest
from sandbox.tests.conftest import EventReceiver, InstalledApp
from sandbox.tests.openlines_helpers import (
    CONNECTOR,
    assert_fixture,
    connect,
    element,
    error,
    ok,
    register,
    send,
    wait_decoded,
)


def _conversation(client: httpx.Client, chat_id: str) -> dict[str, Any]:
    response = client.get(f"/_sandbox/conversations/{chat_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"LINE": 1, "MESSAGES": [element()]}, "Argument 'CONNECTOR' is null or empty"),
        ({"CONNECTOR": CONNECTOR, "MESSAGES": [element()]}, "Argument 'LINE' is null or empty"),
        ({"CONNECTOR": CONNECTOR, "LINE": 1}, "Argument 'MESSAGES' is null or empty"),
        (
            {"CONNECTOR": CONNECTOR, "LINE": 1, "MESSAGES": "x"},
            "The value of an argument 'MESSAGES' must be of type array",
        ),
        (
            {"CONNECTOR": CONNECTOR, "LINE": 1, "MESSAGES": ["x"]},
            "The MESSAGES parameter must be an array of messages (arrays)",
        ),
        (
            {"CONNECTOR": CONNECTOR, "LINE": 1, "MESSAGES": [{"user": {}, "chat": {}}]},
            "The incorrect structure of a message inside MESSAGES parameter.",
        ),
    ],
)
def test_send_argument_errors(
    client: httpx.Client, installed_app: InstalledApp, params: dict[str, Any], description: str
) -> None:
    connect(client, installed_app)
    status, body = error(client, installed_app, "imconnector.send.messages", params)
    assert (status, body["error"], body["error_description"]) == (400, "ERROR_ARGUMENT", description)


@pytest.mark.parametrize("connector", ["ghost", CONNECTOR.upper()])
def test_send_needs_the_exact_registered_id(
    client: httpx.Client, installed_app: InstalledApp, connector: str
) -> None:
    connect(client, installed_app)
    params = {"CONNECTOR": connector, "LINE": 1, "MESSAGES": [element()]}
    status, body = error(client, installed_app, "imconnector.send.messages", params)
    assert (status, body["error"]) == (400, "IMCONNECTOR_NO_CORRECT_PROVIDER")


def test_send_on_inactive_line(client: httpx.Client, installed_app: InstalledApp) -> None:
    register(client, installed_app)
    params = {"CONNECTOR": CONNECTOR, "LINE": 1, "MESSAGES": [element()]}
    status, body = error(client, installed_app, "imconnector.send.messages", params)
    assert (status, body["error"]) == (400, "NOT_ACTIVE_LINE")
    assert body["error_description"] == "The line with this ID is inactive or does not exist"


def test_send_success_shape(client: httpx.Client, installed_app: InstalledApp) -> None:
    connect(client, installed_app)
    msg = element("Good afternoon")
    msg["chat"] = {"id": "chat-1", "name": "Support", "url": "https://example.com/c/1"}
    msg["user"]["skip_phone_validate"] = "Y"
    msg["message"]["disable_crm"] = "Y"
    [item] = send(client, installed_app, msg)
    assert item["SUCCESS"] is True and "ERRORS" not in item
    assert item["user"].isdigit()
    assert item["message"] == {"id": "m-1", "date": {}, "text": "Good afternoon"}
    assert item["chat"] == {
        "id": "chat-1",
        "name": "Support",
        "description": "Link to the original post: https://example.com/c/1",
    }
    assert item["extra"] == {"skip_phone_validate": "Y", "disable_tracker": "Y"}
    assert item["session"]["ID"].isdigit() and item["session"]["CHAT_ID"].isdigit()
    stored = _conversation(client, item["session"]["CHAT_ID"])
    assert stored["external_chat_id"] == "chat-1" and stored["customer"]["user_id"] == int(item["user"])
    assert [(m["direction"], m["text"], m["connector_mid"]) for m in stored["messages"]] == [
        ("in", "Good afternoon", ["m-1"])
    ]


def test_send_keys_are_case_insensitive(client: httpx.Client, installed_app: InstalledApp) -> None:
    connect(client, installed_app)
    body = {
        "connector": CONNECTOR,
        "line": "1",
        "messages": [{"USER": {"ID": "u"}, "Message": {"TEXT": "x"}, "CHAT": {"Id": "c"}}],
    }
    result = ok(client, installed_app, "imconnector.send.messages", body)
    assert result["DATA"]["RESULT"][0]["SUCCESS"] is True


def test_send_form_encoded_body(client: httpx.Client, installed_app: InstalledApp) -> None:
    connect(client, installed_app)
    form = {
        "auth": installed_app.access_token,
        "CONNECTOR": CONNECTOR,
        "LINE": "1",
        "MESSAGES[0][user][id]": "u-form",
        "MESSAGES[0][message][text]": "via form",
        "MESSAGES[0][chat][id]": "c-form",
    }
    response = client.post("/rest/imconnector.send.messages", data=form)
    assert response.status_code == 200, response.text
    assert response.json()["result"]["DATA"]["RESULT"][0]["message"]["text"] == "via form"


def test_customer_mapping_is_stable(client: httpx.Client, installed_app: InstalledApp) -> None:
    connect(client, installed_app)
    first, second, other = send(
        client,
        installed_app,
        element("a", mid="1"),
        element("b", mid="2"),
        element("c", user="user-2", mid="3"),
    )
    assert first["user"] == second["user"] != other["user"]
    assert first["session"] == second["session"] != other["session"]


def test_per_element_failures_keep_top_level_success(
    client: httpx.Client, installed_app: InstalledApp
) -> None:
    connect(client, installed_app)
    no_text = element("")
    no_user = {**element(), "user": {}}
    ok_item, failed_text, failed_user = send(client, installed_app, element(), no_text, no_user)
    assert ok_item["SUCCESS"] is True
    assert failed_text["SUCCESS"] is False and failed_text["ERRORS"] == [
        "The message must contain text or files"
    ]
    assert failed_user["SUCCESS"] is False and failed_user["ERRORS"] == [
        "Not all the required data was transmitted"
    ]
    assert "session" not in failed_text


def test_files_are_downloaded(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    connect(client, installed_app)
    receiver.response_body = b"file-bytes"
    msg = element("")
    msg["message"]["files"] = [{"url": f"{receiver.url}/files/a.txt", "name": "a.txt"}]
    [item] = send(client, installed_app, msg)
    assert item["SUCCESS"] is True and len(item["message"]["files"]) == 1
    [stored] = _conversation(client, item["session"]["CHAT_ID"])["messages"]
    assert [(f["name"], f["size"]) for f in stored["files"]] == [("a.txt", len(b"file-bytes"))]
    assert httpx.get(stored["files"][0]["link"]).content == b"file-bytes"


def test_unreachable_file_is_dropped_silently(client: httpx.Client, installed_app: InstalledApp) -> None:
    connect(client, installed_app)
    msg = element("with a broken file")
    msg["message"]["files"] = [{"url": f"http://127.0.0.1:{_closed_port()}/x.png", "name": "x.png"}]
    [item] = send(client, installed_app, msg)
    assert item["SUCCESS"] is True and item["message"]["files"] == []


def test_only_an_unreachable_file_fails_the_element(
    client: httpx.Client, installed_app: InstalledApp
) -> None:
    connect(client, installed_app)
    msg = element("")
    msg["message"]["files"] = [{"url": f"http://127.0.0.1:{_closed_port()}/x.png"}]
    [item] = send(client, installed_app, msg)
    assert item["SUCCESS"] is False


def test_dialog_start_on_new_session(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    connect(client, installed_app)
    [item] = send(client, installed_app, element("first"))
    send(client, installed_app, element("second", mid="m-2"))
    [event] = wait_decoded(receiver, "ONIMCONNECTORDIALOGSTART")
    ids = {item["user"]: "<customer_user_id>", item["session"]["ID"]: "<session_id>"}
    assert_fixture(event, "first_message", ids)
    assert len(receiver.events("ONIMCONNECTORDIALOGSTART")) == 1


def test_update_and_delete_by_connector_mid(client: httpx.Client, installed_app: InstalledApp) -> None:
    connect(client, installed_app)
    [item] = send(client, installed_app, element("typo"), element("keep", mid="m-2"))[:1]
    base = {"CONNECTOR": CONNECTOR, "LINE": 1}
    updated = ok(
        client, installed_app, "imconnector.update.messages", {**base, "MESSAGES": [element("fixed")]}
    )
    assert updated["DATA"]["RESULT"][0]["SUCCESS"] is True
    delete = {"user": {"id": "user-1"}, "message": {"id": "m-2"}, "chat": {"id": "chat-1"}}
    deleted = ok(client, installed_app, "imconnector.delete.messages", {**base, "MESSAGES": [delete]})
    assert deleted["DATA"]["RESULT"] == [{**delete, "user": item["user"], "SUCCESS": True}]
    messages = _conversation(client, item["session"]["CHAT_ID"])["messages"]
    assert [(m["text"], m["edited"], m["deleted"]) for m in messages] == [
        ("fixed", True, False),
        ("keep", False, True),
    ]


def test_update_and_delete_of_unknown_ids_still_succeed(
    client: httpx.Client, installed_app: InstalledApp
) -> None:
    connect(client, installed_app)
    base = {"CONNECTOR": CONNECTOR, "LINE": 1}
    unknown = element("x", mid="never-sent", chat="nowhere")
    for method in ("imconnector.update.messages", "imconnector.delete.messages"):
        result = ok(client, installed_app, method, {**base, "MESSAGES": [unknown]})
        assert result["SUCCESS"] is True and result["DATA"]["RESULT"][0]["SUCCESS"] is True


def test_update_needs_active_line(client: httpx.Client, installed_app: InstalledApp) -> None:
    register(client, installed_app)
    params = {"CONNECTOR": CONNECTOR, "LINE": 1, "MESSAGES": [element()]}
    assert (
        error(client, installed_app, "imconnector.update.messages", params)[1]["error"] == "NOT_ACTIVE_LINE"
    )


def test_chat_name_set(client: httpx.Client, installed_app: InstalledApp) -> None:
    connect(client, installed_app)
    [item] = send(client, installed_app)
    params = {"CONNECTOR": CONNECTOR, "LINE": 1, "CHAT_ID": "chat-1", "NAME": "Renamed", "USER_ID": "user-1"}
    assert ok(client, installed_app, "imconnector.chat.name.set", params) == {
        "SUCCESS": True,
        "DATA": {"RESULT": {}},
    }
    assert _conversation(client, item["session"]["CHAT_ID"])["title"] == "Renamed"
    status, body = error(client, installed_app, "imconnector.chat.name.set", {**params, "USER_ID": ""})
    assert (status, body["argument"]) == (400, "USER_ID")


def test_chat_name_set_needs_active_line(client: httpx.Client, installed_app: InstalledApp) -> None:
    register(client, installed_app)
    params = {"CONNECTOR": CONNECTOR, "LINE": 1, "CHAT_ID": "c", "NAME": "n", "USER_ID": "u"}
    assert error(client, installed_app, "imconnector.chat.name.set", params)[1]["error"] == "NOT_ACTIVE_LINE"


def test_chat_group_puts_every_user_in_one_chat(client: httpx.Client, installed_app: InstalledApp) -> None:
    connect(client, installed_app)
    register(client, installed_app, CHAT_GROUP=True)
    first, second = send(client, installed_app, element("a", mid="1"), element("b", user="user-2", mid="2"))
    assert first["user"] != second["user"]
    assert first["session"] == second["session"]
    params = {"CONNECTOR": CONNECTOR, "LINE": 1, "CHAT_ID": "chat-1", "NAME": "Group"}
    assert ok(client, installed_app, "imconnector.chat.name.set", params)["SUCCESS"] is True


def test_customer_names(client: httpx.Client, installed_app: InstalledApp) -> None:
    connect(client, installed_app)
    split = element("a", chat="c-1")
    split["user"] = {"id": "u-1", "name": "Ivan Petrov"}
    nameless = element("b", chat="c-2")
    nameless["user"] = {"id": "u-2"}
    results = send(client, installed_app, split, nameless)
    assert [r["SUCCESS"] for r in results] == [True, True]
    customers = {
        c["external_chat_id"]: (c["customer"]["name"], c["customer"]["last_name"])
        for c in client.get("/_sandbox/conversations").json()
    }
    assert customers == {"c-1": ("Ivan", "Petrov"), "c-2": ("Guest", "")}
