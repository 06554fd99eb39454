"""``POST /b24/app``, the application's main page, over real HTTP against a sandbox portal."""

from __future__ import annotations

import httpx
from tests.pages.harness import Bridge, Portal
from tests.pages.page_client import frame_post

from openline_bridge.store import lines, outbox, portal_errors, portals, widgets
from openline_bridge.store.lines import LineStatus
from openline_bridge.store.models import OutboxStatus
from openline_bridge.store.types import utc_now


async def open_app(
    bridge: Bridge, portal: Portal, *, lang: str = "en", changes: dict[str, str | None] | None = None
) -> httpx.Response:
    """Open the app's main page as Bitrix24 does (``PLACEMENT=DEFAULT``, no options)."""
    query, form = frame_post(portal.installed, placement="DEFAULT", lang=lang, changes=changes)
    return await bridge.http.post("/b24/app", params=query, data=form)


async def populate(bridge: Bridge, portal: Portal) -> str:
    """Two lines (one connected, with a widget), outbox jobs, an error and a health check; the widget key."""
    now = utc_now()
    box = bridge.services.secret_box
    async with bridge.services.database.transaction() as session:
        ready = await lines.ensure(session, portal.record.id, 1, now, name="Support")
        await lines.set_connect_desired(session, ready.id, True, now)
        await lines.record_status(
            session, ready.id, LineStatus(configured=True, status=True, error=False), now
        )
        widget = await widgets.ensure_for_line(session, box, ready.id, now)
        await lines.ensure(session, portal.record.id, 7, now)
        for number in range(3):
            await outbox.enqueue(
                session, portal.record.id, "send_messages", {"n": number}, f"job-{number}", now=now
            )
        await portal_errors.record(
            session, portal.record.id, "worker.send_messages", "NOT_ACTIVE_LINE", "line <7> is off", now
        )
        check = {
            "member_id": portal.record.member_id,
            "checked_at": now.isoformat(),
            "token_ok": True,
            "bindings_repaired": ["ONIMCONNECTORMESSAGEADD"],
            "problems": [{"area": "line:7", "code": "NOT_ACTIVE_LINE", "message": "dropped by Bitrix24"}],
            "healthy": False,
        }
        await portals.record_check(session, portal.record.id, check, now)
    return widget.public_key


async def test_app_page_lists_lines_outbox_health_and_errors(bridge: Bridge, portal: Portal) -> None:
    widget_key = await populate(bridge, portal)

    response = await open_app(bridge, portal)

    assert response.status_code == 200
    text = response.text
    assert "1 — Support" in text
    assert widget_key in text
    assert "ready" in text
    assert "<td>7</td>" in text
    assert "unknown" in text  # line 7 was never checked
    assert "<tr><td>waiting</td><td>3</td></tr>" in text
    assert "<tr><td>failed for good</td><td>0</td></tr>" in text
    assert "NOT_ACTIVE_LINE" in text
    assert "line &lt;7&gt; is off" in text  # escaped, never markup
    assert "needs attention" in text
    assert "<td>line:7</td>" in text
    assert "dropped by Bitrix24" in text
    assert "bindings_repaired" in text
    assert f"frame-ancestors {portal.origin}" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert "x-frame-options" not in response.headers


async def test_app_page_of_a_fresh_portal_says_there_is_nothing_yet(bridge: Bridge, portal: Portal) -> None:
    response = await open_app(bridge, portal)

    assert response.status_code == 200
    assert "No line has been opened in the Contact Center yet." in response.text
    assert "No job has been queued yet." in response.text
    assert "No health check has run yet." in response.text
    assert "No error recorded." in response.text


async def test_app_page_in_russian(bridge: Bridge, portal: Portal) -> None:
    await populate(bridge, portal)

    response = await open_app(bridge, portal, lang="ru")

    assert '<html lang="ru">' in response.text
    assert "Очередь отправки" in response.text
    assert "Последние ошибки" in response.text


async def test_app_page_refuses_an_unverified_request(bridge: Bridge, portal: Portal) -> None:
    await populate(bridge, portal)

    wrong = await open_app(bridge, portal, changes={"APPLICATION_TOKEN": "nope"})
    missing = await open_app(bridge, portal, changes={"member_id": None})

    for response in (wrong, missing):
        assert response.status_code == 401
        assert "NOT_ACTIVE_LINE" not in response.text
        assert "Support" not in response.text


async def test_the_sandbox_opens_the_app_page(bridge: Bridge, portal: Portal) -> None:
    await populate(bridge, portal)
    client_id = bridge.services.settings.apps[0].client_id

    answer = (await portal.control.post(f"/apps/{client_id}/open", json={"lang": "en"})).json()

    assert answer["status"] == 200
    assert "1 — Support" in answer["body"]


async def test_outbox_counts_cover_every_status(bridge: Bridge, portal: Portal) -> None:
    await populate(bridge, portal)

    async with bridge.services.database.transaction() as session:
        counts = await outbox.count_by_status(session, portal.record.id)

    assert counts == {status: 3 if status is OutboxStatus.PENDING else 0 for status in OutboxStatus}
