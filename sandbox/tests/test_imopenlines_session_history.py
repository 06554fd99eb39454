"""`imopenlines.session.history.get`: a session's messages with their connector ids (public docs shape)."""

from __future__ import annotations

from typing import Any

import httpx
from sandbox.tests.conftest import InstalledApp
from sandbox.tests.openlines_helpers import connect, element, error, ok, operator_message, send

METHOD = "imopenlines.session.history.get"


def _sent(client: httpx.Client, app: InstalledApp, *mids: str) -> tuple[int, int]:
    items = send(client, app, *(element(f"text {mid}", mid=mid) for mid in mids))
    session = items[-1]["session"]
    return int(session["CHAT_ID"]), int(session["ID"])


def test_history_lists_the_session_messages_with_their_connector_ids(
    client: httpx.Client, installed_app: InstalledApp
) -> None:
    connect(client, installed_app)
    chat_id, session_id = _sent(client, installed_app, "m-1", "m-2")
    operator_message(client, "Hi there")

    result: dict[str, Any] = ok(client, installed_app, METHOD, {"CHAT_ID": chat_id, "SESSION_ID": session_id})

    assert (result["chatId"], result["sessionId"]) == (chat_id, session_id)
    messages = result["message"]
    newest_first = result["usersMessage"][f"chat{chat_id}"]
    assert newest_first == sorted(messages, key=int, reverse=True)
    by_text = {m["text"]: m for m in messages.values()}
    assert by_text["text m-1"]["params"] == {"connectorMid": ["m-1"]}
    assert by_text["text m-2"]["params"] == {"connectorMid": ["m-2"]}
    operator = next(m for m in messages.values() if m["text"].endswith("Hi there"))
    assert operator["params"] == []  # not yet confirmed by send.status.delivery: no connector id
    assert {m["chatid"] for m in messages.values()} == {str(chat_id)}
    assert {m["recipientid"] for m in messages.values()} == {f"chat{chat_id}"}


def test_history_holds_only_the_asked_session(client: httpx.Client, installed_app: InstalledApp) -> None:
    connect(client, installed_app)
    chat_id, first = _sent(client, installed_app, "m-1")
    response = client.post(f"/_sandbox/sessions/{first}/close")
    assert response.status_code == 200, response.text
    _, second = _sent(client, installed_app, "m-2")
    assert second != first

    def mids(session_id: int) -> list[str]:
        result = ok(client, installed_app, METHOD, {"CHAT_ID": chat_id, "SESSION_ID": session_id})
        return [mid for m in result["message"].values() if m["params"] for mid in m["params"]["connectorMid"]]

    assert (mids(first), mids(second)) == (["m-1"], ["m-2"])


def test_history_errors(client: httpx.Client, installed_app: InstalledApp) -> None:
    connect(client, installed_app)
    chat_id, session_id = _sent(client, installed_app, "m-1")

    status, body = error(client, installed_app, METHOD, {"CHAT_ID": 999999, "SESSION_ID": session_id})
    assert (status, body["error"]) == (400, "CHAT_ID")
    # the app's user takes part in no open-line chat: CHAT_ID alone is refused, as the docs describe
    status, body = error(client, installed_app, METHOD, {"CHAT_ID": chat_id})
    assert (status, body["error"]) == (400, "ACCESS_DENIED")
    status, body = error(client, installed_app, METHOD, {"CHAT_ID": chat_id, "SESSION_ID": session_id + 1000})
    assert (status, body["error"]) == (400, "ACCESS_DENIED")
