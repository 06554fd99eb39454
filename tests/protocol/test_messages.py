"""Messages, edits, deletes, read position, profile and catch-up (protocol §6.2–§6.7)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import update
from tests.protocol.conftest import SHOP, Bridge

from openline_bridge.store.models import Message, MessageStatus


async def test_send_is_idempotent_on_client_message_id(bridge: Bridge) -> None:
    anna = await bridge.visitor()
    first = await anna.send("Hello", "c-5f0b2a9e")
    assert first.status_code == 201
    assert first.json()["seq"] == 1
    message = first.json()["message"]
    assert (message["direction"], message["text"], message["status"]) == ("visitor", "Hello", "queued")
    replay = await anna.send("a different body is not compared", "c-5f0b2a9e")
    assert replay.status_code == 200
    assert replay.json() == first.json()
    assert [event["seq"] for event in (await anna.events())["events"]] == [1]


async def test_replaying_a_failed_message_requeues_it(bridge: Bridge) -> None:
    anna = await bridge.visitor()
    sent = (await anna.send("retry me", "c-retry")).json()
    async with bridge.database.transaction() as session:
        await session.execute(
            update(Message)
            .where(Message.id == int(sent["message"]["id"]))
            .values(status=MessageStatus.FAILED, failure_code="gave_up", failure_reason="timeout")
        )
    replay = await anna.send("retry me", "c-retry")
    assert replay.status_code == 200
    assert replay.json()["message"]["status"] == "queued"
    events = (await anna.events(after=1))["events"]
    assert [(e["kind"], e["payload"]["status"]) for e in events] == [("message.status", "queued")]


async def test_text_rules(bridge: Bridge) -> None:
    anna = await bridge.visitor()
    exact = await anna.send("\U0001f600" * 10_000, "c-exact")  # code points, not UTF-16 units
    assert exact.status_code == 201
    for text, client_id, code in (
        ("x" * 10_001, "c-long", "message_too_long"),
        (" \r\n\t ", "c-empty", "empty_message"),
        ("ok", "bad id!", "validation_error"),
        ("ok", "x" * 65, "validation_error"),
    ):
        response = await anna.send(text, client_id)
        assert response.status_code == 400, client_id
        assert response.json()["error"]["code"] == code
    too_many = await anna.send("files", "c-many", attachment_ids=[str(n) for n in range(11)])
    assert (too_many.status_code, too_many.json()["error"]["code"]) == (400, "too_many_attachments")
    normalised = await anna.send("  line 1\r\nline 2\r  ", "c-norm")
    assert normalised.json()["message"]["text"] == "line 1\nline 2"


async def test_edit_and_delete_own_messages_only(bridge: Bridge) -> None:
    anna = await bridge.visitor()
    message_id = (await anna.send("first", "c-1")).json()["message"]["id"]
    edited = await anna.request("PATCH", f"messages/{message_id}", json={"text": "first, edited"})
    assert edited.status_code == 200
    assert edited.json()["seq"] == 2
    assert edited.json()["message"]["edited_at"] is not None
    unchanged = await anna.request("PATCH", f"messages/{message_id}", json={"text": " first, edited "})
    assert (unchanged.status_code, unchanged.json()["seq"]) == (200, None)
    too_long = await anna.request("PATCH", f"messages/{message_id}", json={"text": "y" * 10_001})
    assert too_long.json()["error"]["code"] == "message_too_long"

    deleted = await anna.request("DELETE", f"messages/{message_id}")
    assert deleted.status_code == 200
    assert deleted.json()["seq"] == 3
    assert (deleted.json()["message"]["deleted"], deleted.json()["message"]["text"]) == (True, "")
    again = await anna.request("DELETE", f"messages/{message_id}")
    assert (again.status_code, again.json()["seq"]) == (200, None)
    after_delete = await anna.request("PATCH", f"messages/{message_id}", json={"text": "back"})
    assert (after_delete.status_code, after_delete.json()["error"]["code"]) == (409, "message_not_editable")

    operator_id, _ = await bridge.operator_reply(anna.conversation_id, "How can I help?", 501)
    for method, body in (("PATCH", {"text": "forged"}), ("DELETE", None)):
        response = await anna.request(method, f"messages/{operator_id}", json=body)
        assert (response.status_code, response.json()["error"]["code"]) == (409, "message_not_editable")
    kinds = [event["kind"] for event in (await anna.events())["events"]]
    assert kinds == ["message.created", "message.edited", "message.deleted", "message.created"]


async def test_read_position_moves_forward_only_and_is_clamped(bridge: Bridge) -> None:
    anna = await bridge.visitor()
    _, seq = await bridge.operator_reply(anna.conversation_id, "Hi!", 601)
    assert (await anna.request("POST", "read", json={"seq": 99})).json() == {"read_seq": seq}
    assert (await anna.request("POST", "read", json={"seq": 0})).json() == {"read_seq": seq}
    events = (await anna.events(after=seq))["events"]
    assert [e["kind"] for e in events] == ["message.status", "conversation.read"]
    assert events[0]["payload"]["status"] == "read"
    assert events[1]["payload"] == {"read_seq": seq}
    for body in ({"seq": -1}, {"seq": "1"}, {}):
        response = await anna.request("POST", "read", json=body)
        assert (response.status_code, response.json()["error"]["code"]) == (400, "validation_error")


async def test_profile_sets_clears_and_keeps(bridge: Bridge) -> None:
    anna = await bridge.visitor()
    set_both = await anna.request("POST", "profile", json={"name": " Anna ", "email": "anna@example.com"})
    assert set_both.json() == {"visitor": {"name": "Anna", "email": "anna@example.com", "identified": False}}
    cleared = await anna.request("POST", "profile", json={"email": None})
    assert cleared.json()["visitor"] == {"name": "Anna", "email": None, "identified": False}
    for body in ({"email": "two@@example.com"}, {"email": "a b@example.com"}, {"name": "  "}, {"name": 5}):
        response = await anna.request("POST", "profile", json=body)
        assert (response.status_code, response.json()["error"]["code"]) == (400, "validation_error"), body


async def test_catch_up_after_a_seq_in_pages(bridge: Bridge) -> None:
    anna = await bridge.visitor()
    for n in range(5):
        assert (await anna.send(f"m{n}", f"c-{n}")).status_code == 201
    page = await anna.events(after=1, limit=2)
    assert [e["seq"] for e in page["events"]] == [2, 3]
    assert (page["last_seq"], page["has_more"]) == (5, True)
    rest = await anna.events(after=3, limit=2)
    assert ([e["seq"] for e in rest["events"]], rest["has_more"]) == ([4, 5], False)
    beyond = await anna.events(after=50)
    assert (beyond["events"], beyond["last_seq"], beyond["has_more"]) == ([], 5, False)
    for params in ({"after": -1}, {"after": "x"}, {"limit": 0}, {"limit": 501}):
        response = await anna.request("GET", "events", params=params)
        assert (response.status_code, response.json()["error"]["code"]) == (400, "validation_error"), params


async def test_unknown_route_and_wrong_method_use_the_envelope(bridge: Bridge) -> None:
    anna = await bridge.visitor()
    missing = await anna.request("GET", "nothing-here")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    wrong = await anna.request("PUT", "messages")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (405, "method_not_allowed")


async def test_a_message_body_is_json_of_at_most_64_kib(bridge: Bridge) -> None:
    anna = await bridge.visitor()
    json_type = {"Content-Type": "application/json"}
    oversized = b'{"client_message_id": "c-1", "text": "' + b"x" * (64 * 1024) + b'"}'

    async def streamed() -> AsyncIterator[bytes]:  # no Content-Length: refused while it arrives
        for start in range(0, len(oversized), 8192):
            yield oversized[start : start + 8192]

    for content in (oversized, streamed()):
        response = await anna.request("POST", "messages", content=content, headers=json_type)
        assert (response.status_code, response.json()["error"]["code"]) == (413, "payload_too_large")
        assert response.headers["access-control-allow-origin"] == SHOP
    not_json = await anna.request("POST", "messages", content=b"client_message_id=c-1&text=hi")
    assert (not_json.status_code, not_json.json()["error"]["code"]) == (415, "unsupported_media_type")
    for body in (b"", b"{", b"[]", b'{"text": "no id"}'):
        response = await anna.request("POST", "messages", content=body, headers=json_type)
        assert (response.status_code, response.json()["error"]["code"]) == (400, "validation_error"), body
    missing_id = await anna.request("POST", "messages", content=b'{"text": "no id"}', headers=json_type)
    assert missing_id.json()["error"]["details"] == [
        {"field": "client_message_id", "message": "Field required"}
    ]
    assert (await anna.events())["events"] == []  # nothing refused was stored
