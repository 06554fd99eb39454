"""The bundles' caching headers (protocol §8) and the routes in ``/openapi.json``."""

from __future__ import annotations

from tests.protocol.conftest import Bridge

ROUTES = {
    "/api/v1/widgets/{widget_key}/sessions": {"post"},
    "/api/v1/conversation/events": {"get"},
    "/api/v1/conversation/messages": {"post"},
    "/api/v1/conversation/messages/{message_id}": {"patch", "delete"},
    "/api/v1/conversation/read": {"post"},
    "/api/v1/conversation/profile": {"post"},
    "/api/v1/conversation/files": {"post"},
    "/api/v1/conversation/files/{attachment_id}": {"get"},
    "/api/v1/conversation/live": {"get"},  # documents the WebSocket
}


async def test_bundles_are_served_with_their_cache_policy(bridge: Bridge) -> None:
    loader = await bridge.http.get("/widget.js")
    assert loader.status_code == 200
    assert loader.headers["content-type"] == "text/javascript; charset=utf-8"
    assert loader.headers["cache-control"] == "public, max-age=300"
    assert loader.content.isascii()
    assert b"widget-app.js?v=" in loader.content

    versioned = await bridge.http.get("/widget-app.js", params={"v": "7f640c7752c9"})
    assert versioned.status_code == 200
    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert versioned.headers["content-type"] == "text/javascript; charset=utf-8"
    plain = await bridge.http.get("/widget-app.js")
    assert plain.headers["cache-control"] == "public, max-age=300"

    revalidated = await bridge.http.get("/widget.js", headers={"If-None-Match": loader.headers["etag"]})
    assert revalidated.status_code == 304


async def test_every_protocol_route_is_in_the_openapi_document(bridge: Bridge) -> None:
    paths = (await bridge.http.get("/openapi.json")).json()["paths"]
    for path, methods in ROUTES.items():
        assert path in paths, path
        assert methods <= set(paths[path]), path
    upload = paths["/api/v1/conversation/files"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload


async def test_plain_http_to_the_live_url_asks_for_an_upgrade(bridge: Bridge) -> None:
    response = await bridge.http.get("/api/v1/conversation/live")
    assert (response.status_code, response.json()["error"]["code"]) == (426, "upgrade_required")
