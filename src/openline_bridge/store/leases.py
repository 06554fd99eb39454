"""Portal leases: at most one dispatcher owns a portal's outbox at a time (ARCHITECTURE.md "The worker").

A claim is one atomic ``INSERT … ON CONFLICT DO UPDATE … WHERE`` (the lease is free, expired or already
ours), so it is exclusive on SQLite and PostgreSQL alike and across processes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.store.models import InstallState, Portal, PortalLease
from openline_bridge.store.upsert import insert_on_conflict

__all__ = ["claim", "free_portal_ids", "installed_member_id", "release", "renew"]


async def claim(session: AsyncSession, portal_id: int, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Take (or extend) the lease for ``owner`` unless another owner holds an unexpired one."""
    statement = insert_on_conflict(session, PortalLease).values(
        portal_id=portal_id, owner=owner, expires_at=now + ttl
    )
    statement = statement.on_conflict_do_update(
        index_elements=[PortalLease.portal_id],
        set_={"owner": owner, "expires_at": now + ttl},
        where=or_(
            PortalLease.owner == owner,
            PortalLease.owner.is_(None),
            PortalLease.expires_at <= now,
        ),
    ).returning(PortalLease.portal_id)
    return (await session.execute(statement)).scalar() is not None


async def renew(session: AsyncSession, portal_id: int, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Extend a lease ``owner`` still holds; False means it was lost (expired) and work must stop."""
    result = await session.execute(
        update(PortalLease)
        .where(PortalLease.portal_id == portal_id, PortalLease.owner == owner, PortalLease.expires_at > now)
        .values(expires_at=now + ttl)
        .returning(PortalLease.portal_id)
    )
    return result.scalar() is not None


async def release(session: AsyncSession, portal_id: int, owner: str) -> None:
    """Give the lease up so another dispatcher can take the portal at once."""
    await session.execute(
        update(PortalLease)
        .where(PortalLease.portal_id == portal_id, PortalLease.owner == owner)
        .values(owner=None)
    )


async def free_portal_ids(session: AsyncSession, now: datetime) -> list[int]:
    """Installed portals whose lease is free or expired (candidates for :func:`claim`)."""
    taken = select(PortalLease.portal_id).where(PortalLease.owner.is_not(None), PortalLease.expires_at > now)
    rows = await session.scalars(
        select(Portal.id)
        .where(Portal.install_state == InstallState.INSTALLED, Portal.id.not_in(taken))
        .order_by(Portal.id)
    )
    return list(rows)


async def installed_member_id(session: AsyncSession, portal_id: int) -> str | None:
    """The ``member_id`` of a portal a dispatcher may work for; None once it is uninstalled or gone."""
    member_id: str | None = await session.scalar(
        select(Portal.member_id).where(Portal.id == portal_id, Portal.install_state == InstallState.INSTALLED)
    )
    return member_id
