"""Connect and disconnect a line (ARCHITECTURE.md flow 2), as the settings page asks.

Each function does its Bitrix24 calls with the caller it is given (the settings page passes the
``AUTH_ID`` of the admin who opened it, contract §10) and its database writes in short transactions
of their own, never holding a transaction open across a REST call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from openline_bridge.bitrix24 import methods
from openline_bridge.bitrix24.client import RestCaller
from openline_bridge.bitrix24.methods import ConnectorData
from openline_bridge.crypto import SecretBox
from openline_bridge.store import lines, widgets
from openline_bridge.store.database import Database
from openline_bridge.store.lines import LineRecord, LineStatus
from openline_bridge.store.widgets import WidgetRecord
from openline_bridge.worker.parking import resume_line

__all__ = [
    "DISCONNECTED",
    "LineTarget",
    "OpenedLine",
    "channel_data",
    "check_status",
    "connect",
    "describe_channel",
    "disconnect",
    "open_line",
    "save_allowed_origins",
]

# contract §8.14: deactivation deletes the (connector, line) row, so every flag reads false afterwards.
DISCONNECTED = LineStatus(configured=False, status=False, error=False)


@dataclass(frozen=True)
class LineTarget:
    """Which connector on which line of which portal an action is about."""

    connector_id: str
    line: LineRecord


@dataclass(frozen=True)
class OpenedLine:
    """A line as the settings page shows it: the stored line and its widget."""

    line: LineRecord
    widget: WidgetRecord


async def open_line(
    database: Database, box: SecretBox, portal_id: int, bitrix_line_id: int, now: datetime
) -> OpenedLine:
    """The line and its widget, both created on the first visit of the line's settings page."""
    async with database.transaction() as session:
        line = await lines.ensure(session, portal_id, bitrix_line_id, now)
        widget = await widgets.ensure_for_line(session, box, line.id, now)
    return OpenedLine(line, widget)


def channel_data(public_url: str, widget: WidgetRecord) -> ConnectorData:
    """What Contact Center shows for the channel (contract §8.5): the widget and the website it lives on.

    ``ID`` is the widget's public key; ``URL``/``URL_IM`` the first allowed website that is not a wildcard
    (the bridge's public URL until the admin names one); ``NAME`` says which website it is.
    """
    site = next((origin for origin in widget.allowed_origins if "*" not in origin), None)
    host = urlsplit(site).netloc if site else None
    return ConnectorData(
        channel_id=widget.public_key,
        url=site or public_url,
        url_im=site or public_url,
        name=f"Website chat ({host})" if host else "Website chat",
    )


async def check_status(
    database: Database, caller: RestCaller, target: LineTarget, now: datetime
) -> LineStatus:
    """Ask Bitrix24 for the connector's flags on the line (contract §8.4) and store them; an active line
    releases the outbox jobs parked on ``NOT_ACTIVE_LINE``."""
    reported = await methods.status(caller, target.connector_id, target.line.bitrix_line_id)
    status = LineStatus(configured=reported.configured, status=reported.status, error=reported.error)
    async with database.transaction() as session:
        await lines.record_status(session, target.line.id, status, now)
        if status.status:
            await resume_line(session, target.line.portal_id, target.line.bitrix_line_id, now)
    return status


async def connect(
    database: Database, caller: RestCaller, target: LineTarget, data: ConnectorData, now: datetime
) -> LineStatus:
    """Activate the connector on the line, describe the channel, and return the flags Bitrix24 then reports.

    The desired flag is stored as soon as activation succeeded, so that the health check repairs the line
    even if a later step fails.
    """
    bitrix_line_id = target.line.bitrix_line_id
    # contract §8.3/§14.17: ACTIVE=1 (never "Y"/"N"); §8.5 + pitfall P3: data.set only after activate,
    # because activation may drop data set before it.
    await methods.activate(caller, target.connector_id, bitrix_line_id, active=True)
    async with database.transaction() as session:
        await lines.set_connect_desired(session, target.line.id, True, now)
    await describe_channel(caller, target, data)
    return await check_status(database, caller, target, now)


async def describe_channel(caller: RestCaller, target: LineTarget, data: ConnectorData) -> None:
    """Send the channel description shown in Contact Center (``imconnector.connector.data.set``, §8.5)."""
    await methods.connector_data_set(caller, target.connector_id, target.line.bitrix_line_id, data)


async def disconnect(database: Database, caller: RestCaller, target: LineTarget, now: datetime) -> LineStatus:
    """Deactivate the connector on the line; the desired flag is cleared first.

    Clearing first means the health check never re-activates a line whose admin is turning it off, even
    if the call below fails half-way.
    """
    async with database.transaction() as session:
        await lines.set_connect_desired(session, target.line.id, False, now)
    # contract §8.3: ACTIVE=0 deletes the status row (and fires OnImConnectorStatusDelete); `false` just
    # means there was no row. §8.4: asking for the status now would re-create an all-N row, so don't.
    await methods.activate(caller, target.connector_id, target.line.bitrix_line_id, active=False)
    async with database.transaction() as session:
        await lines.record_status(session, target.line.id, DISCONNECTED, now)
    return DISCONNECTED


async def save_allowed_origins(
    database: Database, widget: WidgetRecord, origins: Sequence[str], now: datetime
) -> WidgetRecord:
    """Store the websites the widget may run on (normalised by ``core.origins``); the updated widget."""
    async with database.transaction() as session:
        await widgets.set_allowed_origins(session, widget.id, origins, now)
        updated = await widgets.find_by_public_key(session, widget.public_key)
    assert updated is not None, "the widget was just updated"
    return updated
