"""A visitor reaches only its own conversation, through every route (docs/protocol.md §2.1)."""

from __future__ import annotations

import pytest
from tests.protocol.conftest import SHOP, Bridge, Visitor

from openline_bridge.store import lines
from openline_bridge.store.portals import PortalRecord

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64

# Every conversation route: (method, path, JSON body or None).
CONVERSATION_ROUTES = [
    ("GET", "events", None),
    ("POST", "messages", {"client_message_id": "c-1", "text": "hi"}),
    ("PATCH", "messages/1", {"text": "edited"}),
    ("DELETE", "messages/1", None),
    ("POST", "read", {"seq": 1}),
    ("POST", "profile", {"name": "Anna"}),
    ("POST", "files", None),
    ("GET", "files/1", None),
]


async def _upload(visitor: Visitor, content: bytes = PNG, name: str = "pic.png") -> str:
    response = await visitor.request("POST", "files", files={"file": (name, content, "image/png")})
    assert response.status_code == 201, response.text
    attachment_id: str = response.json()["attachment"]["id"]
    return attachment_id


@pytest.mark.parametrize(("method", "path", "body"), CONVERSATION_ROUTES)
async def test_missing_malformed_or_unknown_token_is_401_everywhere(
    bridge: Bridge, method: str, path: str, body: dict[str, object] | None
) -> None:
    for authorization in (None, "Bearer", "Bearer olv1_unknown", "Basic abc", "Bearer " + "x" * 300):
        headers = {"Origin": SHOP}
        if authorization is not None:
            headers["Authorization"] = authorization
        url = f"/api/v1/conversation/{path}"
        response = await bridge.http.request(method, url, json=body, headers=headers)
        assert response.status_code == 401, authorization
        assert response.json()["error"]["code"] == "invalid_token"
        assert response.headers["www-authenticate"] == "Bearer"
        # readable by the page, so the widget can drop its stale token (protocol §2.3)
        assert response.headers["access-control-allow-origin"] == SHOP


async def test_visitor_cannot_touch_another_visitors_conversation(bridge: Bridge) -> None:
    anna, boris = await bridge.visitor(), await bridge.visitor()
    boris_file = await _upload(boris)
    sent = await boris.send("secret of boris", "b-1", attachment_ids=[boris_file])
    assert sent.status_code == 201
    boris_message = sent.json()["message"]["id"]

    # read: Anna's log holds nothing of Boris's
    assert (await anna.events())["events"] == []
    # edit and delete Boris's message: not found, never forbidden (ids cannot be probed)
    for method, body in (("PATCH", {"text": "hijacked"}), ("DELETE", None)):
        response = await anna.request(method, f"messages/{boris_message}", json=body)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    # attach Boris's upload to her own message, or fetch it
    response = await anna.send("look", "a-1", attachment_ids=[boris_file])
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    response = await anna.request("GET", f"files/{boris_file}")
    assert response.status_code == 404
    # post, read and profile act on her own conversation only
    assert (await anna.send("mine", "a-2")).status_code == 201
    assert (await anna.request("POST", "read", json={"seq": 50})).json() == {"read_seq": 1}
    assert (await anna.request("POST", "profile", json={"name": "Anna"})).status_code == 200
    # upload lands in her conversation: Boris cannot use it
    anna_file = await _upload(anna)
    response = await boris.send("steal", "b-2", attachment_ids=[anna_file])
    assert response.status_code == 404

    boris_log = await boris.events()
    assert [event["kind"] for event in boris_log["events"]] == ["message.created"]
    assert boris_log["events"][0]["payload"]["message"]["text"] == "secret of boris"
    assert (await boris.request("GET", f"files/{boris_file}")).status_code == 200
    anna_log = (await anna.events())["events"]
    anna_texts = [event["payload"]["message"]["text"] for event in anna_log if "message" in event["payload"]]
    assert anna_texts == ["mine"]
    session = await bridge.session(headers={"Authorization": f"Bearer {boris.token}"})
    assert session.status_code == 200
    assert session.json()["visitor"]["name"] is None  # Anna's profile change did not reach Boris


async def test_unknown_ids_of_own_conversation_are_404(bridge: Bridge) -> None:
    anna = await bridge.visitor()
    for method, path in (("PATCH", "messages/999"), ("DELETE", "messages/abc"), ("GET", "files/-1")):
        response = await anna.request(method, path, json={"text": "x"} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "not_found"


async def test_token_of_a_deleted_line_is_dead(bridge: Bridge, installed_portal: PortalRecord) -> None:
    anna = await bridge.visitor()
    assert (await anna.send("before", "c-1")).status_code == 201  # the token is now resolved and cached
    async with bridge.database.transaction() as session:
        assert await lines.delete_line(session, installed_portal.id, 1)
    response = await anna.send("after", "c-2")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "invalid_token")
