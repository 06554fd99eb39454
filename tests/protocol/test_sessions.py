"""`POST /api/v1/widgets/{key}/sessions`: new visitors, resume, signed identity (protocol §6.1, §2.2)."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import func, select
from tests.protocol.conftest import SHOP, Bridge

from openline_bridge.store import conversations, lines, widgets
from openline_bridge.store.models import Visitor, VisitorToken
from openline_bridge.store.portals import PortalRecord
from openline_bridge.store.types import utc_now


def sign(secret: str, user_id: str) -> str:
    """The site's signature of a user id (protocol §2.2)."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


async def _count_visitors(bridge: Bridge) -> int:
    async with bridge.database.transaction() as session:
        return await session.scalar(select(func.count()).select_from(Visitor)) or 0


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_new_visitor_then_resume_with_its_token(bridge: Bridge) -> None:
    created = await bridge.session({"locale": "ru-RU", "page_url": "https://shop.example/cart"})
    assert created.status_code == 201
    body = created.json()
    async with bridge.database.transaction() as session:
        conversation = await conversations.get(session, int(body["conversation"]["id"]))
        visitor = await session.get(Visitor, conversation.visitor_id)
        # where the visitor is goes to the operator with the next message (chat.url, contract §8.7)
        assert (conversation.page_url, visitor and visitor.locale) == ("https://shop.example/cart", "ru-RU")
    token = body["token"]
    assert token.startswith("olv1_")
    assert 48 <= len(token) <= 256
    assert body["visitor"] == {"name": None, "email": None, "identified": False}
    assert body["conversation"]["state"] == "open"
    assert body["conversation"]["last_seq"] == body["conversation"]["read_seq"] == 0
    assert body["limits"]["message_max_chars"] == 10000
    assert body["live"] == {"url": bridge.live_url, "heartbeat_interval": 25}
    assert set(body["config"]) == {
        "title",
        "greeting",
        "language",
        "theme",
        "position",
        "accent_color",
        "prechat_form",
    }

    resumed = await bridge.session(headers=_bearer(token))
    assert resumed.status_code == 200
    assert resumed.json()["token"] == token
    assert resumed.json()["conversation"]["id"] == body["conversation"]["id"]

    # only the SHA-256 of the token is stored
    async with bridge.database.transaction() as session:
        hashes = set(await session.scalars(select(VisitorToken.token_hash)))
    assert hashlib.sha256(token.encode()).hexdigest() in hashes
    assert token not in hashes


async def test_stale_token_or_token_of_another_widget_starts_over(
    bridge: Bridge, installed_portal: PortalRecord
) -> None:
    stale = await bridge.session(headers=_bearer("olv1_no-such-token"))
    assert stale.status_code == 201
    async with bridge.database.transaction() as session:
        line = await lines.ensure(session, installed_portal.id, 2, utc_now())
        other = await widgets.ensure_for_line(session, bridge.api.secret_box, line.id, utc_now())
        await widgets.set_allowed_origins(session, other.id, [SHOP], utc_now())
    foreign = await bridge.http.post(
        f"/api/v1/widgets/{other.public_key}/sessions",
        json={},
        headers={"Origin": SHOP, **_bearer(stale.json()["token"])},
    )
    assert foreign.status_code == 201
    assert foreign.json()["token"] != stale.json()["token"]
    assert foreign.json()["conversation"]["id"] != stale.json()["conversation"]["id"]


async def test_signed_identity_gives_every_device_the_same_conversation(bridge: Bridge) -> None:
    identity = {"user_id": "42", "hash": sign(bridge.identity_secret, "42"), "name": "Anna"}
    laptop = await bridge.session(identity)
    assert laptop.status_code == 201
    assert laptop.json()["visitor"] == {"name": "Anna", "email": None, "identified": True}
    phone = await bridge.session({**identity, "hash": identity["hash"].upper()})  # hex case-insensitive
    assert phone.status_code == 200
    assert phone.json()["token"] != laptop.json()["token"]
    assert phone.json()["conversation"]["id"] == laptop.json()["conversation"]["id"]

    sent = await bridge.http.post(
        "/api/v1/conversation/messages",
        json={"client_message_id": "from-laptop", "text": "hello"},
        headers=_bearer(laptop.json()["token"]),
    )
    assert sent.status_code == 201
    seen = await bridge.http.get("/api/v1/conversation/events", headers=_bearer(phone.json()["token"]))
    assert [e["payload"]["message"]["text"] for e in seen.json()["events"]] == ["hello"]
    # both devices stay signed in (each has its own token)
    again = await bridge.session(headers=_bearer(laptop.json()["token"]))
    assert again.status_code == 200


async def test_invalid_identity_is_refused_and_creates_nothing(bridge: Bridge) -> None:
    before = await _count_visitors(bridge)
    good = sign(bridge.identity_secret, "42")
    for body in (
        {"user_id": "42", "hash": sign(bridge.identity_secret, "43")},
        {"user_id": "42", "hash": sign("another-secret", "42")},
        {"user_id": "42", "hash": "not-hex"},
        {"user_id": "42"},
        {"hash": good},
    ):
        response = await bridge.session(body)
        assert response.status_code == 403, body
        assert response.json()["error"]["code"] == "invalid_signature"
    assert await _count_visitors(bridge) == before


async def test_identity_promotes_the_anonymous_visitor_once(bridge: Bridge) -> None:
    anonymous = (await bridge.session()).json()
    promoted = await bridge.session(
        {"user_id": "7", "hash": sign(bridge.identity_secret, "7")}, _bearer(anonymous["token"])
    )
    assert promoted.status_code == 200
    assert promoted.json()["conversation"]["id"] == anonymous["conversation"]["id"]
    assert promoted.json()["visitor"]["identified"] is True

    # a second anonymous visitor signing in as the same user gets the bound visitor; its own chat stays
    other = (await bridge.session()).json()
    bound = await bridge.session(
        {"user_id": "7", "hash": sign(bridge.identity_secret, "7")}, _bearer(other["token"])
    )
    assert bound.status_code == 200
    assert bound.json()["conversation"]["id"] == anonymous["conversation"]["id"]
    still = await bridge.session(headers=_bearer(other["token"]))
    assert still.json()["conversation"]["id"] == other["conversation"]["id"]
    assert still.json()["visitor"]["identified"] is False

    # a token bound to user 7 presented with user 8's identity is ignored (a shared computer)
    switched = await bridge.session(
        {"user_id": "8", "hash": sign(bridge.identity_secret, "8")}, _bearer(promoted.json()["token"])
    )
    assert switched.status_code == 201
    assert switched.json()["conversation"]["id"] != anonymous["conversation"]["id"]


async def test_session_refusals(bridge: Bridge) -> None:
    unknown = await bridge.http.post("/api/v1/widgets/nope/sessions", json={}, headers={"Origin": SHOP})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")

    invalid = await bridge.session({"user_id": 42, "locale": "x" * 36})
    assert invalid.status_code == 400
    error = invalid.json()["error"]
    assert error["code"] == "validation_error"
    assert {detail["field"] for detail in error["details"]} == {"user_id", "locale"}

    url = f"/api/v1/widgets/{bridge.widget_key}/sessions"
    malformed = await bridge.http.post(url, content=b"{", headers={"Content-Type": "application/json"})
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "validation_error")
    not_json = await bridge.http.post(url, content=b"a=1", headers={"Content-Type": "text/plain"})
    assert (not_json.status_code, not_json.json()["error"]["code"]) == (415, "unsupported_media_type")
    huge = await bridge.http.post(url, json={"name": "x" * 70_000})
    assert (huge.status_code, huge.json()["error"]["code"]) == (413, "payload_too_large")
    bad_name = await bridge.session({"email": "no-at-sign"})
    assert (bad_name.status_code, bad_name.json()["error"]["code"]) == (400, "validation_error")
    for page in ("javascript:alert(1)", "/cart", "ftp://shop.example/"):
        bad_page = await bridge.session({"page_url": page})
        assert bad_page.status_code == 400, page
        assert [detail["field"] for detail in bad_page.json()["error"]["details"]] == ["page_url"]
