"""What the lifecycle events do to the bridge's state (contract §6.4, §9.4, §9.5; pitfall P30).

- ``ONAPPUNINSTALL``: all work for the portal stops. It is marked uninstalled (its events are refused
  from now on), its unfinished outbox jobs are dead-lettered and its unprocessed inbox events failed;
  with ``data[CLEAN]=1`` everything stored for it is deleted, otherwise kept for a re-install.
- ``ONIMCONNECTORSTATUSDELETE``: our connector is no longer active on the line. The reported state is
  recorded; the line's desired-connected flag is left as it is, so the health check re-activates a line
  Bitrix24 dropped while the admin still wants it (an admin's own disconnect clears the flag first).
- ``ONIMCONNECTORLINEDELETE``: the line is gone; the bridge forgets it and what was bound to it.

Message and dialog events are not lifecycle events: they wait in the inbox for the messaging engine.
"""

from __future__ import annotations

from datetime import datetime

from openline_bridge.bitrix24.events import AppUninstall, Event, LineDelete, StatusDelete
from openline_bridge.logging import get_logger
from openline_bridge.store import inbox, lines, outbox, portals
from openline_bridge.store.database import Database
from openline_bridge.store.lines import LineStatus

__all__ = ["MESSAGING_EVENTS", "handle_lifecycle_event"]

_log = get_logger(__name__)

# Left pending for the messaging engine (contract §9.1–§9.3, §9.6, §9.7).
MESSAGING_EVENTS = frozenset(
    {
        "ONIMCONNECTORMESSAGEADD",
        "ONIMCONNECTORMESSAGEUPDATE",
        "ONIMCONNECTORMESSAGEDELETE",
        "ONIMCONNECTORDIALOGSTART",
        "ONIMCONNECTORDIALOGFINISH",
    }
)

# contract §8.14: once the status row is deleted every flag reads false.
_INACTIVE = LineStatus(configured=False, status=False, error=False)


async def handle_lifecycle_event(
    database: Database, portal_id: int, event: Event, connector_id: str, now: datetime
) -> None:
    """Apply one lifecycle event of ``portal_id``; other events are accepted and ignored."""
    if isinstance(event, AppUninstall):
        await _uninstall(database, portal_id, event, now)
    elif isinstance(event, StatusDelete):
        # contract §7.5: only the connector's owner receives it, but the id is checked all the same.
        if event.connector.lower() == connector_id:
            await _connector_dropped(database, portal_id, event.line, now)
    elif isinstance(event, LineDelete):
        # contract §9.4: sent to every app bound to it, whether or not our connector was on the line.
        await _line_deleted(database, portal_id, event.line)
    else:
        _log.info("lifecycle.ignored", portal_id=portal_id, event_name=event.envelope.name)


async def _uninstall(database: Database, portal_id: int, event: AppUninstall, now: datetime) -> None:
    member_id = event.envelope.auth.member_id
    async with database.transaction() as session:
        await portals.mark_uninstalled(session, member_id, now)
        cancelled = await outbox.cancel_uninstalled(session, "portal uninstalled the app", now)
        abandoned = await inbox.abandon_pending(session, portal_id, "portal uninstalled the app", now)
        purged = event.clean and await portals.purge(session, member_id)
    _log.info(
        "lifecycle.uninstalled",
        member_id=member_id,
        purged=purged,
        jobs_cancelled=cancelled,
        events_abandoned=abandoned,
    )


async def _connector_dropped(database: Database, portal_id: int, bitrix_line_id: int, now: datetime) -> None:
    async with database.transaction() as session:
        line = await lines.ensure(session, portal_id, bitrix_line_id, now)
        await lines.record_status(session, line.id, _INACTIVE, now)
    _log.info(
        "lifecycle.connector_dropped",
        portal_id=portal_id,
        line=bitrix_line_id,
        will_reactivate=line.connect_desired,
    )


async def _line_deleted(database: Database, portal_id: int, bitrix_line_id: int) -> None:
    async with database.transaction() as session:
        existed = await lines.delete_line(session, portal_id, bitrix_line_id)
    _log.info("lifecycle.line_deleted", portal_id=portal_id, line=bitrix_line_id, known=existed)
