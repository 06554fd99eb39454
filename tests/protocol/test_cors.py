"""Allowed origins and CORS per widget (protocol §2.3)."""

from __future__ import annotations

from tests.protocol.conftest import SHOP, Bridge

EVIL = "https://evil.example"
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}


async def test_session_preflight_only_for_allowed_origins(bridge: Bridge) -> None:
    url = f"/api/v1/widgets/{bridge.widget_key}/sessions"
    for origin in (SHOP, "https://a.b.shop.example", "https://SHOP.example:443"):
        allowed = await bridge.http.options(url, headers={"Origin": origin, **PREFLIGHT})
        assert allowed.status_code == 204, origin
        assert allowed.headers["access-control-allow-origin"] == origin
        assert allowed.headers["access-control-allow-methods"] == "GET, POST, PATCH, DELETE, OPTIONS"
        assert allowed.headers["access-control-allow-headers"] == "Authorization, Content-Type"
        assert allowed.headers["access-control-max-age"] == "600"
        assert "access-control-allow-credentials" not in allowed.headers
    for origin in (EVIL, "http://shop.example", "https://shop.example.evil", "null"):
        refused = await bridge.http.options(url, headers={"Origin": origin, **PREFLIGHT})
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden_origin"), origin
        assert "access-control-allow-origin" not in refused.headers
    unknown = await bridge.http.options(
        "/api/v1/widgets/nope/sessions", headers={"Origin": SHOP, **PREFLIGHT}
    )
    assert unknown.status_code == 404


async def test_conversation_preflight_is_answered_for_any_origin(bridge: Bridge) -> None:
    response = await bridge.http.options(
        "/api/v1/conversation/messages", headers={"Origin": EVIL, **PREFLIGHT}
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == EVIL


async def test_requests_from_a_foreign_origin_are_refused(bridge: Bridge) -> None:
    refused = await bridge.session(headers={"Origin": EVIL})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden_origin")
    assert "access-control-allow-origin" not in refused.headers

    anna = await bridge.visitor()
    for method, path, body in (
        ("GET", "events", None),
        ("POST", "messages", {"client_message_id": "c-1", "text": "hi"}),
        ("POST", "read", {"seq": 0}),
    ):
        response = await anna.request(method, path, json=body, headers={"Origin": EVIL})
        assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden_origin")
        assert "access-control-allow-origin" not in response.headers
    assert (await anna.events())["events"] == []  # the refused POST stored nothing


async def test_allowed_origin_gets_cors_headers_on_success_and_errors(bridge: Bridge) -> None:
    anna = await bridge.visitor()
    ok = await anna.request("GET", "events")
    refused = await anna.send("x" * 10_001, "c-long")
    for response in (ok, refused):
        assert response.headers["access-control-allow-origin"] == SHOP
        assert response.headers["access-control-expose-headers"] == "Retry-After"
        assert "Origin" in response.headers["vary"]
    # no Origin header (a mobile app, a server): no origin check, no CORS headers
    app_client = await bridge.http.get("/api/v1/conversation/events", headers=anna.headers(origin=None))
    assert app_client.status_code == 200
    assert "access-control-allow-origin" not in app_client.headers
