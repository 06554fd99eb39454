"""Parked jobs and what brings them back: the line active again, the portal's grant restored.

Other parts call :func:`resume_line` when they learn a line is active (settings page, health check) and
:func:`resume_portal` after a reinstall; the dispatcher also re-probes on its own (:func:`reprobe`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.bitrix24 import methods
from openline_bridge.bitrix24.client import RestCaller
from openline_bridge.bitrix24.errors import Bitrix24Error
from openline_bridge.logging import get_logger
from openline_bridge.store import outbox
from openline_bridge.store.database import Database
from openline_bridge.worker.outcomes import AUTH_REVOKED, line_inactive_reason

__all__ = ["reprobe", "resume_line", "resume_portal"]

_log = get_logger(__name__)
_LINE_PREFIX = line_inactive_reason(0).removesuffix("0")


async def resume_line(session: AsyncSession, portal_id: int, bitrix_line_id: int, now: datetime) -> int:
    """The connector is active on the line again: its parked jobs are due now; how many."""
    return await outbox.resume_parked(session, portal_id, now, reason=line_inactive_reason(bitrix_line_id))


async def resume_portal(session: AsyncSession, portal_id: int, now: datetime) -> int:
    """The portal granted access again (reinstalled, paid): every parked job is due now; how many."""
    return await outbox.resume_parked(session, portal_id, now)


async def reprobe(
    database: Database, caller: RestCaller, portal_id: int, connector_id: str, now: datetime
) -> bool:
    """Ask Bitrix24 whether what parked jobs wait for is resolved; resume those. True if the grant works."""
    async with database.transaction() as session:
        reasons = await outbox.parked_reasons(session, portal_id)
    granted = True
    for reason in reasons:
        try:
            if reason == AUTH_REVOKED:
                await methods.app_info(caller)
                resolved = True
            elif reason.startswith(_LINE_PREFIX) and reason.removeprefix(_LINE_PREFIX).isdigit():
                line = int(reason.removeprefix(_LINE_PREFIX))
                # contract §8.4: only STATUS true accepts messages again
                resolved = (await methods.status(caller, connector_id, line)).status
            else:
                continue
        except Bitrix24Error as exc:
            granted = granted and reason != AUTH_REVOKED
            _log.info("worker.reprobe_failed", portal_id=portal_id, reason=reason, error=exc.code)
            continue
        if resolved:
            async with database.transaction() as session:
                resumed = await outbox.resume_parked(session, portal_id, now, reason=reason)
            _log.info("worker.resumed", portal_id=portal_id, reason=reason, jobs=resumed)
    return granted
