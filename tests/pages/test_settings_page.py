"""``POST /b24/settings`` over real HTTP, against a sandbox portal (contract §8.3–§8.5, §10)."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import func, select
from tests.pages.harness import Bridge, Portal
from tests.pages.page_client import form_with, frame_post, placement_options, read_page, submit

from openline_bridge.store import lines, widgets
from openline_bridge.store.lines import LineRecord
from openline_bridge.store.models import Line, Widget
from openline_bridge.store.widgets import WidgetRecord
from openline_bridge.web.csrf import CsrfSigner

LINE = 1  # the sandbox's default line


async def open_settings(
    bridge: Bridge,
    portal: Portal,
    line: int = LINE,
    *,
    lang: str = "en",
    options: str | None = None,
    changes: dict[str, str | None] | None = None,
) -> httpx.Response:
    """Open the settings page of ``line`` as the Contact Center frame does."""
    query, form = frame_post(
        portal.installed,
        options=options or placement_options(portal.connector_id, line),
        lang=lang,
        changes=changes,
    )
    return await bridge.http.post("/b24/settings", params=query, data=form)


async def count_rows(bridge: Bridge, model: type[Line] | type[Widget]) -> int:
    async with bridge.services.database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def stored(bridge: Bridge, portal: Portal, line: int = LINE) -> tuple[LineRecord, WidgetRecord]:
    async with bridge.services.database.transaction() as session:
        found = await lines.find(session, portal.record.id, line)
        assert found is not None
        widget = await widgets.find_for_line(session, found.id)
    assert widget is not None
    return found, widget


async def test_opening_shows_state_embed_code_and_creates_the_widget(bridge: Bridge, portal: Portal) -> None:
    response = await open_settings(bridge, portal)

    assert response.status_code == 200
    assert "Not connected" in response.text
    line, widget = await stored(bridge, portal)
    _, textareas = read_page(response.text)
    public_url = bridge.services.settings.public_url
    assert textareas["embed"] == (
        f'<script src="{public_url}/widget.js" data-widget="{widget.public_key}" async></script>'
    )
    # The live imconnector.status went out with the admin's AUTH_ID (contract §8.4) and was stored.
    assert len(await portal.calls("imconnector.status")) == 1
    assert line.last_status is not None
    assert not line.last_status.status
    assert widget.allowed_origins == ()
    assert "No website is allowed yet" in response.text

    await open_settings(bridge, portal)  # a second visit reuses the line and its widget
    assert await count_rows(bridge, Widget) == 1
    assert await count_rows(bridge, Line) == 1


async def test_page_may_be_framed_by_the_portal_only_and_is_not_cached(
    bridge: Bridge, portal: Portal
) -> None:
    response = await open_settings(bridge, portal)

    policy = response.headers["content-security-policy"]
    assert f"frame-ancestors {portal.origin}" in policy
    assert portal.origin.startswith("http://127.0.0.1:")  # PROTOCOL=0 loopback portal
    assert "script-src" not in policy  # default-src 'none': no script may run
    assert "default-src 'none'" in policy
    assert "x-frame-options" not in response.headers
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("text/html")
    assert "<script" not in response.text.replace("&lt;script", "")


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"APPLICATION_TOKEN": "0" * 32}, id="wrong-token"),
        pytest.param({"APPLICATION_TOKEN": None}, id="missing-token"),
        pytest.param({"member_id": "f" * 32}, id="unknown-portal"),
        pytest.param({"member_id": None}, id="missing-member-id"),
    ],
)
async def test_unverified_opening_is_refused_and_changes_nothing(
    bridge: Bridge, portal: Portal, overrides: dict[str, str | None]
) -> None:
    response = await open_settings(bridge, portal, changes=overrides)

    assert response.status_code == 401
    assert "does not come from a Bitrix24 portal" in response.text
    assert response.headers["cache-control"] == "no-store"
    # The refusal is readable inside the frame that claims to be the portal (query DOMAIN, PROTOCOL=0).
    assert f"frame-ancestors {portal.origin}" in response.headers["content-security-policy"]
    assert await count_rows(bridge, Line) == 0
    assert await count_rows(bridge, Widget) == 0
    assert await portal.calls("imconnector.status") == []


async def test_connect_activates_then_describes_the_channel(bridge: Bridge, portal: Portal) -> None:
    opened = await open_settings(bridge, portal)

    response = await submit(bridge.http, form_with(opened.text, "connect"), "connect")

    assert response.status_code == 200
    assert "The connector is now active on this line." in response.text
    line, widget = await stored(bridge, portal)
    (row,) = await portal.status_rows()
    assert (row["line"], row["active"], row["connection"], row["register"]) == (LINE, True, True, True)
    assert row["status"] is True
    public_url = bridge.services.settings.public_url
    # The sandbox keeps DATA keys lower-cased (contract §8.5: keys are case-insensitive).
    assert row["data"] == {
        "id": widget.public_key,
        "url": public_url,
        "url_im": public_url,
        "name": "Website chat",
    }
    # contract §8.3/§8.5, pitfall P3: activate before data.set.
    (activate,) = await portal.calls("imconnector.activate")
    (data_set,) = await portal.calls("imconnector.connector.data.set")
    assert activate["id"] < data_set["id"]
    assert line.connect_desired
    assert line.last_status is not None
    assert line.last_status.status


async def test_disconnect_deletes_the_status_row_and_bitrix24_fires_status_delete(
    bridge: Bridge, portal: Portal
) -> None:
    opened = await open_settings(bridge, portal)
    connected = await submit(bridge.http, form_with(opened.text, "connect"), "connect")
    status_calls = len(await portal.calls("imconnector.status"))

    response = await submit(bridge.http, form_with(connected.text, "disconnect"), "disconnect")

    assert response.status_code == 200
    assert "The connector was disconnected from this line." in response.text
    assert await portal.status_rows() == []
    # No status call after deactivating: it would re-create an all-N row (contract §8.4).
    assert len(await portal.calls("imconnector.status")) == status_calls
    await portal.control.post("/events/drain", params={"timeout": 10})
    deliveries = (
        await portal.control.get("/events/deliveries", params={"event": "ONIMCONNECTORSTATUSDELETE"})
    ).json()["deliveries"]
    assert len(deliveries) == 1
    assert f"data%5Bconnector%5D={portal.connector_id}" in deliveries[0]["body"]
    assert f"data%5Bline%5D={LINE}" in deliveries[0]["body"]
    line, _ = await stored(bridge, portal)
    assert not line.connect_desired
    assert line.last_status is not None
    assert not line.last_status.status


def _expired_token(bridge: Bridge, portal: Portal) -> str:
    signer = CsrfSigner(bridge.services.settings.secret_key.get_secret_value())
    return signer.issue(portal.record.member_id, LINE, time.time() - signer.ttl_seconds - 1)


@pytest.mark.parametrize("case", ["missing", "wrong", "other-line", "expired", "other-portal"])
@pytest.mark.parametrize("action", ["connect", "disconnect", "save_origins"])
async def test_forms_without_a_valid_csrf_token_are_refused_and_call_nothing(
    bridge: Bridge, portal: Portal, case: str, action: str
) -> None:
    opened = await open_settings(bridge, portal)
    other = await open_settings(bridge, portal, portal.other_line)
    form = form_with(opened.text, action)
    tokens = {
        "missing": None,
        "wrong": "9999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "other-line": form_with(other.text, action).fields["csrf_token"],
        "expired": _expired_token(bridge, portal),
        "other-portal": form.fields["csrf_token"],
    }
    changes: dict[str, str | None] = {"csrf_token": tokens[case], "origins": "https://shop.example"}
    if case == "other-portal":
        changes["member_id"] = "e" * 32

    response = await submit(bridge.http, form, action, **changes)

    assert response.status_code == 403
    assert "This form has expired or was not issued for this line." in response.text
    assert await portal.calls("imconnector.activate") == []
    assert await portal.calls("imconnector.connector.data.set") == []
    line, widget = await stored(bridge, portal)
    assert not line.connect_desired
    assert widget.allowed_origins == ()


async def test_russian_page_for_lang_ru_also_after_an_action(bridge: Bridge, portal: Portal) -> None:
    opened = await open_settings(bridge, portal, lang="ru")

    assert '<html lang="ru">' in opened.text
    assert "Подключить" in opened.text
    assert "Код для вставки" in opened.text
    connected = await submit(bridge.http, form_with(opened.text, "connect"), "connect")
    assert "Коннектор включён на этой линии." in connected.text
    refused = await open_settings(bridge, portal, lang="ru", changes={"APPLICATION_TOKEN": "wrong"})
    assert "Запрос пришёл не с портала Битрикс24" in refused.text


async def test_unknown_language_falls_back_to_english(bridge: Bridge, portal: Portal) -> None:
    response = await open_settings(bridge, portal, lang="de")

    assert '<html lang="en">' in response.text
    assert "Connect" in response.text


async def test_expired_auth_id_is_explained_never_a_500(bridge: Bridge, portal: Portal) -> None:
    opened = await open_settings(bridge, portal)
    await portal.control.post("/tokens/expire")

    reopened = await open_settings(bridge, portal)
    connect = await submit(bridge.http, form_with(opened.text, "connect"), "connect")

    for response in (reopened, connect):
        assert response.status_code == 200
        assert "The Bitrix24 session of this page has expired." in response.text
        assert "expired_token" in response.text
    line, _ = await stored(bridge, portal)
    assert not line.connect_desired  # activation failed, so nothing claims the line is wanted


async def test_bitrix24_refusal_shows_code_and_description(bridge: Bridge, portal: Portal) -> None:
    opened = await open_settings(bridge, portal)
    fault = {
        "method": "imconnector.activate",
        "status": 403,
        "error": "WRONG_AUTH_TYPE",
        "error_description": "Current authorization type is denied for this method",
    }
    (await portal.control.put("/faults", json={"errors": [fault]})).raise_for_status()

    response = await submit(bridge.http, form_with(opened.text, "connect"), "connect")

    assert response.status_code == 200
    assert "Bitrix24 refused the request (WRONG_AUTH_TYPE)." in response.text
    assert "Current authorization type is denied for this method" in response.text
    # The opening's status call created an all-N row (contract §8.4); the refused activate left it so.
    (row,) = await portal.status_rows()
    assert not row["active"]
    line, _ = await stored(bridge, portal)
    assert not line.connect_desired


async def test_allowed_origins_are_normalised_saved_and_invalid_lists_refused(
    bridge: Bridge, portal: Portal
) -> None:
    opened = await open_settings(bridge, portal)
    form = form_with(opened.text, "save_origins")

    saved = await submit(
        bridge.http, form, "save_origins", origins="https://Shop.Example:443/\nhttps://*.example.org"
    )
    assert "Allowed origins saved." in saved.text
    _, widget = await stored(bridge, portal)
    assert widget.allowed_origins == ("https://shop.example", "https://*.example.org")
    assert widget.allows_origin("https://a.example.org")
    assert not widget.allows_origin("https://evil.example")

    refused = await submit(
        bridge.http,
        form_with(saved.text, "save_origins"),
        "save_origins",
        origins="https://ok.example ftp://x",
    )
    assert refused.status_code == 200
    assert "Not saved:" in refused.text
    _, textareas = read_page(refused.text)
    assert textareas["origins"] == "https://ok.example ftp://x"  # kept for correction
    _, unchanged = await stored(bridge, portal)
    assert unchanged.allowed_origins == widget.allowed_origins


async def test_saving_origins_of_a_connected_line_updates_the_channel_link(
    bridge: Bridge, portal: Portal
) -> None:
    opened = await open_settings(bridge, portal)
    connected = await submit(bridge.http, form_with(opened.text, "connect"), "connect")

    await submit(
        bridge.http, form_with(connected.text, "save_origins"), "save_origins", origins="https://shop.example"
    )

    (row,) = await portal.status_rows()
    data = {key.lower(): value for key, value in row["data"].items()}
    assert data["url"] == "https://shop.example"
    assert data["name"] == "Website chat (shop.example)"


@pytest.mark.parametrize(
    ("options", "placement", "expected"),
    [
        pytest.param("not json", "SETTING_CONNECTOR", "PLACEMENT_OPTIONS is not JSON", id="not-json"),
        pytest.param('{"CONNECTOR": "openline_bridge"}', "SETTING_CONNECTOR", "no valid LINE", id="no-line"),
        pytest.param('{"LINE": "1"}', "SETTING_CONNECTOR", "no CONNECTOR", id="no-connector"),
        pytest.param(
            '{"CONNECTOR": "someone_else", "LINE": "1"}',
            "SETTING_CONNECTOR",
            "belongs to the connector someone_else",
            id="other-connector",
        ),
        pytest.param(
            '{"CONNECTOR": "openline_bridge", "LINE": "1"}', "DEFAULT", "PLACEMENT is not", id="placement"
        ),
    ],
)
async def test_bad_openings_get_a_readable_400(
    bridge: Bridge, portal: Portal, options: str, placement: str, expected: str
) -> None:
    response = await open_settings(bridge, portal, options=options, changes={"PLACEMENT": placement})

    assert response.status_code == 400
    assert expected in response.text
    assert f"frame-ancestors {portal.origin}" in response.headers["content-security-policy"]
    assert await count_rows(bridge, Line) == 0


async def test_garbage_bodies_are_refused_without_a_500(bridge: Bridge, portal: Portal) -> None:
    as_json = await bridge.http.post("/b24/settings", json={"member_id": portal.record.member_id})
    too_large = await bridge.http.post("/b24/settings", data={"x": "y" * 70_000})
    unbalanced = await bridge.http.post(
        "/b24/settings", content=b"a[b=1", headers={"content-type": "application/x-www-form-urlencoded"}
    )

    assert as_json.status_code == 400
    assert too_large.status_code == 413
    assert unbalanced.status_code == 400
    for response in (as_json, too_large, unbalanced):
        assert response.headers["content-type"].startswith("text/html")


async def test_the_sandbox_contact_center_opens_the_page_and_its_form_connects(
    bridge: Bridge, portal: Portal
) -> None:
    answer = (
        await portal.control.post(
            "/placements/open",
            json={"connector": portal.connector_id, "line": portal.other_line, "lang": "en"},
        )
    ).json()

    assert answer["status"] == 200
    assert f"Website chat — line {portal.other_line}" in answer["body"]
    assert f"frame-ancestors {portal.origin}" in answer["headers"]["content-security-policy"]
    response = await submit(bridge.http, form_with(answer["body"], "connect"), "connect")
    assert "The connector is now active on this line." in response.text
    (row,) = await portal.status_rows()
    assert row["line"] == portal.other_line
    assert row["status"] is True

    reopened = (
        await portal.control.post(
            "/placements/open", json={"connector": portal.connector_id, "line": portal.other_line}
        )
    ).json()
    # PLACEMENT_OPTIONS now carries the flags of the active row (contract §10).
    assert reopened["request"]["form"]["PLACEMENT_OPTIONS"].count("true") >= 4
    assert "Connected: messages flow" in reopened["body"]
