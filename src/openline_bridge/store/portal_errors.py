"""Recent errors per portal, for the app page's "last errors"; only the newest few are kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.store.models import PortalError

__all__ = ["KEEP_PER_PORTAL", "PortalErrorRecord", "latest", "record"]

KEEP_PER_PORTAL = 50


@dataclass(frozen=True)
class PortalErrorRecord:
    """One recorded failure."""

    occurred_at: datetime
    origin: str
    code: str
    message: str


async def record(
    session: AsyncSession, portal_id: int, origin: str, code: str, message: str, now: datetime
) -> None:
    """Store a failure and drop the portal's older ones beyond ``KEEP_PER_PORTAL``."""
    session.add(PortalError(portal_id=portal_id, occurred_at=now, origin=origin, code=code, message=message))
    await session.flush()
    keep = (
        select(PortalError.id)
        .where(PortalError.portal_id == portal_id)
        .order_by(PortalError.id.desc())
        .limit(KEEP_PER_PORTAL)
    )
    await session.execute(
        delete(PortalError)
        .where(PortalError.portal_id == portal_id, PortalError.id.not_in(keep.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )


async def latest(session: AsyncSession, portal_id: int, limit: int = 20) -> list[PortalErrorRecord]:
    """The portal's most recent failures, newest first."""
    rows = await session.scalars(
        select(PortalError)
        .where(PortalError.portal_id == portal_id)
        .order_by(PortalError.id.desc())
        .limit(limit)
    )
    return [PortalErrorRecord(row.occurred_at, row.origin, row.code, row.message) for row in rows]
