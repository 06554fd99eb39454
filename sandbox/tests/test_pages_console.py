"""The operator console over real HTTP: it renders the state, its actions fire the real events."""

from __future__ import annotations

import base64
from typing import Any

import httpx
from sandbox.tests.conftest import EventReceiver, InstalledApp
from sandbox.tests.openlines_helpers import CONNECTOR, connect, element, ok, send, settle, wait_decoded

PNG_1x1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def _conversation(client: httpx.Client, installed_app: InstalledApp, text: str = "Hello") -> int:
    """Connect the connector and let a customer write; the Bitrix24 chat id."""
    connect(client, installed_app)
    (item,) = send(client, installed_app, element(text))
    return int(item["session"]["CHAT_ID"])


def _messages(client: httpx.Client, chat_id: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = client.get(f"/_sandbox/conversations/{chat_id}").json()["messages"]
    return messages


def _confirm_delivery(
    client: httpx.Client, app: InstalledApp, chat_id: int, message_id: int, external_id: str
) -> None:
    """`imconnector.send.status.delivery`: sets the message's CONNECTOR_MID (contract §8.10)."""
    delivery = {
        "im": {"chat_id": chat_id, "message_id": message_id},
        "message": {"id": [external_id]},
        "chat": {"id": "chat-1"},
    }
    params = {"CONNECTOR": CONNECTOR, "LINE": 1, "MESSAGES": [delivery]}
    ok(client, app, "imconnector.send.status.delivery", params)


def _reply(client: httpx.Client, chat_id: int, text: str, **extra: Any) -> httpx.Response:
    return client.post(f"/console/chats/{chat_id}/messages", data={"text": text}, **extra)


def test_console_shows_lines_conversations_and_escapes(
    client: httpx.Client, installed_app: InstalledApp
) -> None:
    connect(client, installed_app)
    customer = element("<b>hi</b> & <script>alert(1)</script>", chat="c<1>")
    customer["user"]["name"] = "<img src=x onerror=alert(1)>"
    (item,) = send(client, installed_app, customer)
    chat_id = item["session"]["CHAT_ID"]

    page = client.get("/console")
    assert page.status_code == 200
    assert "Sandbox line" in page.text
    assert f"<code>{CONNECTOR}</code>" in page.text
    assert f'href="/console?chat={chat_id}"' in page.text
    assert "<img src=x" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text

    opened = client.get("/console", params={"chat": chat_id})
    assert "&lt;b&gt;hi&lt;/b&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt;" in opened.text
    assert "<script>alert(1)" not in opened.text
    assert 'data-state="received"' in opened.text
    assert "<code>c&lt;1&gt;</code>" in opened.text


def test_reply_with_files_fires_message_add_and_shows_delivery_state(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    chat_id = _conversation(client, installed_app)
    answer = _reply(client, chat_id, "Here you go", files=[("files", ("dot.png", PNG_1x1, "image/png"))])
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"/console?chat={chat_id}&notice=")

    (event,) = wait_decoded(receiver, "ONIMCONNECTORMESSAGEADD")
    (message,) = event["data"]["MESSAGES"]
    # contract §9.1: the operator signature prefix, the operator as user_id.
    assert message["message"]["text"] == "[b]Anna Operator:[/b][br] Here you go"
    assert message["message"]["user_id"] == "2"
    assert message["message"]["files"][0]["name"] == "dot.png"
    assert message["message"]["files"][0]["type"] == "image"
    bitrix_message_id = int(message["im"]["message_id"])

    page = client.get("/console", params={"chat": chat_id}).text
    assert 'data-state="sent to connector"' in page
    assert ">dot.png</a>" in page

    # contract §8.10: delivery confirmation sets CONNECTOR_MID, the console says "delivered".
    _confirm_delivery(client, installed_app, chat_id, bitrix_message_id, "ext-1")
    assert 'data-state="delivered"' in client.get("/console", params={"chat": chat_id}).text


def test_edit_and_delete_fire_events_only_after_delivery(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    chat_id = _conversation(client, installed_app)
    _reply(client, chat_id, "first")
    (first,) = [m for m in _messages(client, chat_id) if m["direction"] == "out"]
    assert (
        client.post(
            f"/console/messages/{first['bitrix_message_id']}/edit", data={"text": "first!"}
        ).status_code
        == 303
    )
    assert client.post(f"/console/messages/{first['bitrix_message_id']}/delete").status_code == 303
    settle(client)
    assert receiver.events("ONIMCONNECTORMESSAGEUPDATE") == []
    assert receiver.events("ONIMCONNECTORMESSAGEDELETE") == []

    _reply(client, chat_id, "second")
    second = [m for m in _messages(client, chat_id) if m["direction"] == "out"][-1]
    _confirm_delivery(client, installed_app, chat_id, second["bitrix_message_id"], "ext-2")
    client.post(f"/console/messages/{second['bitrix_message_id']}/edit", data={"text": "second, edited"})
    (update,) = wait_decoded(receiver, "ONIMCONNECTORMESSAGEUPDATE")
    assert update["data"]["MESSAGES"][0]["message"]["id"] == ["ext-2"]
    assert update["data"]["MESSAGES"][0]["message"]["text"].endswith("second, edited")
    page = client.get("/console", params={"chat": chat_id}).text
    assert ">edited</span>" in page

    client.post(f"/console/messages/{second['bitrix_message_id']}/delete")
    (deleted,) = wait_decoded(receiver, "ONIMCONNECTORMESSAGEDELETE")
    assert deleted["data"]["MESSAGES"][0]["message"]["id"] == "ext-2"
    assert 'data-state="deleted"' in client.get("/console", params={"chat": chat_id}).text


def test_close_session_disconnect_and_delete_line(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    chat_id = _conversation(client, installed_app)
    session_id = client.get(f"/_sandbox/conversations/{chat_id}").json()["sessions"][0]["id"]
    page = client.get("/console", params={"chat": chat_id}).text
    assert f'action="/console/sessions/{session_id}/close"' in page
    assert client.post(f"/console/sessions/{session_id}/close").status_code == 303
    (finish,) = wait_decoded(receiver, "ONIMCONNECTORDIALOGFINISH")
    assert finish["data"]["DATA"][0]["session"]["id"] == str(session_id)
    again = client.post(f"/console/sessions/{session_id}/close")
    assert "error=" in again.headers["location"]

    assert client.post(f"/console/lines/1/connectors/{CONNECTOR}/disconnect").status_code == 303
    (status_delete,) = wait_decoded(receiver, "ONIMCONNECTORSTATUSDELETE")
    assert status_delete["data"] == {"connector": CONNECTOR, "line": "1"}
    # contract §8.14: the operator cannot answer once the connector is off.
    refused = _reply(client, chat_id, "anyone?")
    assert refused.status_code == 303
    assert "error=" in refused.headers["location"]

    assert client.post("/console/lines/1/delete").status_code == 303
    (line_delete,) = wait_decoded(receiver, "ONIMCONNECTORLINEDELETE")
    assert line_delete["data"] == "1"
    assert "Sandbox line" not in client.get("/console").text.split("Conversations")[0]


def test_live_regions_show_new_customer_messages(client: httpx.Client, installed_app: InstalledApp) -> None:
    chat_id = _conversation(client, installed_app, "first question")
    live = client.get("/console/live", params={"chat": chat_id})
    assert live.status_code == 200
    assert sorted(live.json()) == ["chats", "lines", "messages"]
    assert "first question" in live.json()["messages"]
    send(client, installed_app, element("second question", mid="m-2"))
    assert "second question" in client.get("/console/live", params={"chat": chat_id}).json()["messages"]
    assert client.get("/console/live").json()["messages"] == ""


def test_unknown_and_malformed_ids_get_html_404_pages(client: httpx.Client) -> None:
    for response in (
        client.get("/console", params={"chat": "999999"}),
        client.get("/console", params={"chat": "abc"}),
        client.get("/console/live", params={"chat": "1e3"}),
        client.post("/console/chats/999999/messages", data={"text": "x"}),
        client.post("/console/chats/%3Cx%3E/messages", data={"text": "x"}),
        client.post("/console/messages/1/edit", data={"text": "x"}),
        client.post("/console/messages/1/delete"),
        client.post("/console/sessions/1/close"),
        client.post("/console/lines/1/connectors/nope/disconnect"),
        client.post("/console/lines/77/delete"),
    ):
        assert response.status_code == 404, response.request.url
        assert response.headers["content-type"].startswith("text/html")
        assert "<h1>Not found</h1>" in response.text


def test_bad_operator_and_empty_reply(client: httpx.Client, installed_app: InstalledApp) -> None:
    chat_id = _conversation(client, installed_app)
    unknown = client.post(f"/console/chats/{chat_id}/messages", data={"text": "x", "operator_id": "42"})
    assert unknown.status_code == 404
    empty = _reply(client, chat_id, "   ")
    assert empty.status_code == 303
    assert "error=" in empty.headers["location"]
    assert [m for m in _messages(client, chat_id) if m["direction"] == "out"] == []
