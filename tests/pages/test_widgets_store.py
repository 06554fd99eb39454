"""The widgets repository and the line use-cases that need no Bitrix24 call, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import func, select

from openline_bridge.crypto import SecretBox
from openline_bridge.relay import lines as line_actions
from openline_bridge.store import lines, widgets
from openline_bridge.store.database import Database
from openline_bridge.store.models import Widget
from openline_bridge.store.portals import PortalRecord
from openline_bridge.store.types import utc_now
from openline_bridge.store.widgets import WidgetRecord


async def test_concurrent_first_visits_create_one_widget(
    database: Database,
    open_database: Callable[[], Awaitable[Database]],
    installed_portal: PortalRecord,
    secret_box: SecretBox,
) -> None:
    other = await open_database()  # a second engine, like a second process
    async with database.transaction() as session:
        # The line exists already (e.g. seen by the health check): only the widget row can race.
        await lines.ensure(session, installed_portal.id, 5, utc_now())
    async with other.transaction() as session:  # connect now, so the visits below really overlap
        await session.execute(select(1))

    opened = await asyncio.gather(
        *(
            line_actions.open_line(handle, secret_box, installed_portal.id, 5, utc_now())
            for handle in (database, other, database, other)
        )
    )

    assert len({item.widget.public_key for item in opened}) == 1
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Widget)) == 1


async def test_widget_lookup_identity_secret_and_origins(
    database: Database, installed_portal: PortalRecord, secret_box: SecretBox
) -> None:
    opened = await line_actions.open_line(database, secret_box, installed_portal.id, 2, utc_now())
    widget = opened.widget

    assert not widget.allows_origin("https://shop.example")  # closed until the admin names a website
    secret = widgets.open_identity_secret(secret_box, widget)
    assert secret is not None
    assert len(secret) >= 40
    assert secret not in repr(widget)
    updated = await line_actions.save_allowed_origins(database, widget, ["https://shop.example"], utc_now())
    assert updated.allows_origin("https://shop.example")
    async with database.transaction() as session:
        found = await widgets.find_by_public_key(session, widget.public_key)
        assert await widgets.find_by_public_key(session, "no-such-key") is None
        line = await lines.ensure(session, installed_portal.id, 3, utc_now())
        by_line = await widgets.list_for_portal(session, installed_portal.id)
    assert found == updated
    assert by_line == {opened.line.id: updated}
    assert line.id not in by_line  # a line whose page was never opened has no widget


def test_channel_data_names_the_first_concrete_website() -> None:
    def widget(*origins: str) -> WidgetRecord:
        return WidgetRecord(1, 1, "KEY", origins, None)

    bare = line_actions.channel_data("https://bridge.example", widget())
    assert (bare.channel_id, bare.url, bare.url_im, bare.name) == (
        "KEY",
        "https://bridge.example",
        "https://bridge.example",
        "Website chat",
    )
    named = line_actions.channel_data(
        "https://bridge.example", widget("https://*.shop.example", "https://shop.example:8443")
    )
    assert (named.url, named.name) == ("https://shop.example:8443", "Website chat (shop.example:8443)")
