"""Lines: the Open Channels of a portal, by Bitrix24 id, with desired and last reported state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.store.models import Line
from openline_bridge.store.upsert import insert_on_conflict

__all__ = [
    "LineRecord",
    "LineStatus",
    "delete_line",
    "ensure",
    "find",
    "list_for_portal",
    "record_status",
    "set_connect_desired",
]


@dataclass(frozen=True)
class LineStatus:
    """The flags ``imconnector.status`` reports for (connector, line) (contract §8.4, §8.14)."""

    configured: bool
    status: bool
    error: bool


@dataclass(frozen=True)
class LineRecord:
    """A line as stored."""

    id: int
    portal_id: int
    bitrix_line_id: int
    name: str | None
    connect_desired: bool
    last_status: LineStatus | None
    status_checked_at: datetime | None

    @classmethod
    def of(cls, row: Line) -> LineRecord:
        """Copy a row."""
        known = None not in (row.bitrix_configured, row.bitrix_status, row.bitrix_error)
        return cls(
            id=row.id,
            portal_id=row.portal_id,
            bitrix_line_id=row.bitrix_line_id,
            name=row.name,
            connect_desired=row.connect_desired,
            last_status=(
                LineStatus(bool(row.bitrix_configured), bool(row.bitrix_status), bool(row.bitrix_error))
                if known
                else None
            ),
            status_checked_at=row.status_checked_at,
        )


async def ensure(
    session: AsyncSession, portal_id: int, bitrix_line_id: int, now: datetime, name: str | None = None
) -> LineRecord:
    """The line row for (portal, Bitrix24 line id), created if missing; a given ``name`` is stored."""
    statement = insert_on_conflict(session, Line).values(
        portal_id=portal_id, bitrix_line_id=bitrix_line_id, name=name, created_at=now, updated_at=now
    )
    if name is None:
        statement = statement.on_conflict_do_nothing(index_elements=[Line.portal_id, Line.bitrix_line_id])
    else:
        statement = statement.on_conflict_do_update(
            index_elements=[Line.portal_id, Line.bitrix_line_id], set_={"name": name, "updated_at": now}
        )
    await session.execute(statement)
    found = await find(session, portal_id, bitrix_line_id)
    assert found is not None, "the row was just inserted or already existed"
    return found


async def find(session: AsyncSession, portal_id: int, bitrix_line_id: int) -> LineRecord | None:
    """The line, or None if the bridge never saw it."""
    row = await session.scalar(
        select(Line)
        .where(Line.portal_id == portal_id, Line.bitrix_line_id == bitrix_line_id)
        .execution_options(populate_existing=True)
    )
    return LineRecord.of(row) if row is not None else None


async def list_for_portal(session: AsyncSession, portal_id: int) -> list[LineRecord]:
    """Every known line of a portal, by Bitrix24 id."""
    rows = await session.scalars(
        select(Line)
        .where(Line.portal_id == portal_id)
        .order_by(Line.bitrix_line_id)
        .execution_options(populate_existing=True)
    )
    return [LineRecord.of(row) for row in rows]


async def set_connect_desired(session: AsyncSession, line_id: int, desired: bool, now: datetime) -> None:
    """Record whether the administrator wants the connector active here (the health check enforces it)."""
    await session.execute(
        update(Line).where(Line.id == line_id).values(connect_desired=desired, updated_at=now)
    )


async def record_status(session: AsyncSession, line_id: int, status: LineStatus, now: datetime) -> None:
    """Store the flags Bitrix24 last reported for the line."""
    await session.execute(
        update(Line)
        .where(Line.id == line_id)
        .values(
            bitrix_configured=status.configured,
            bitrix_status=status.status,
            bitrix_error=status.error,
            status_checked_at=now,
            updated_at=now,
        )
    )


async def delete_line(session: AsyncSession, portal_id: int, bitrix_line_id: int) -> bool:
    """Forget a line and everything bound to it (its widget, conversations); whether it existed."""
    result = await session.execute(
        delete(Line)
        .where(Line.portal_id == portal_id, Line.bitrix_line_id == bitrix_line_id)
        .returning(Line.id)
    )
    return result.scalar() is not None
