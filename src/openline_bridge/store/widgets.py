"""Widgets: the public chat surface of a line — public key, allowed origins, identity secret.

A line has one widget, created the first time an admin opens the line's settings page. Its public key
goes into the embed code (not a secret); its identity secret (sealed with the SecretBox) lets the
website sign a visitor's ``user_id``. An empty origin list allows no website (``core.origins``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.core.origins import origin_allowed
from openline_bridge.crypto import SecretBox
from openline_bridge.ids import new_token
from openline_bridge.store.models import Line, Widget

__all__ = [
    "WidgetRecord",
    "ensure_for_line",
    "find_by_public_key",
    "find_for_line",
    "list_for_portal",
    "open_identity_secret",
    "set_allowed_origins",
]

_IDENTITY_SECRET_BYTES = 32


@dataclass(frozen=True)
class WidgetRecord:
    """A widget as stored; the identity secret stays sealed (see :func:`open_identity_secret`)."""

    id: int
    line_id: int
    public_key: str
    allowed_origins: tuple[str, ...]
    identity_secret_sealed: str | None

    @classmethod
    def of(cls, row: Widget) -> WidgetRecord:
        """Copy a row."""
        return cls(
            id=row.id,
            line_id=row.line_id,
            public_key=row.public_key,
            allowed_origins=tuple(row.allowed_origins or ()),
            identity_secret_sealed=row.identity_secret_sealed,
        )

    def __repr__(self) -> str:
        return f"WidgetRecord(id={self.id}, line_id={self.line_id}, public_key={self.public_key!r})"

    def allows_origin(self, origin: str | None) -> bool:
        """Whether a browser on ``origin`` may use this widget (an empty list allows none)."""
        return origin_allowed(self.allowed_origins, origin)


async def find_for_line(session: AsyncSession, line_id: int) -> WidgetRecord | None:
    """The line's widget, or None if its settings page was never opened."""
    row = await session.scalar(
        select(Widget)
        .where(Widget.line_id == line_id)
        .order_by(Widget.id)
        .limit(1)
        .execution_options(populate_existing=True)
    )
    return WidgetRecord.of(row) if row is not None else None


async def ensure_for_line(session: AsyncSession, box: SecretBox, line_id: int, now: datetime) -> WidgetRecord:
    """The line's widget, created with a random public key and identity secret if it has none yet."""
    # Lock the line row so two first visits at once create one widget (SQLite already serialises
    # writers with BEGIN IMMEDIATE; PostgreSQL needs the row lock).
    await session.execute(select(Line.id).where(Line.id == line_id).with_for_update())
    existing = await find_for_line(session, line_id)
    if existing is not None:
        return existing
    row = Widget(
        line_id=line_id,
        public_key=new_token(18),
        allowed_origins=[],
        look={},
        greeting={},
        identity_secret_sealed=box.seal(new_token(_IDENTITY_SECRET_BYTES)),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    return WidgetRecord.of(row)


async def find_by_public_key(session: AsyncSession, public_key: str) -> WidgetRecord | None:
    """The widget an embed code names, or None."""
    row = await session.scalar(select(Widget).where(Widget.public_key == public_key))
    return WidgetRecord.of(row) if row is not None else None


async def list_for_portal(session: AsyncSession, portal_id: int) -> dict[int, WidgetRecord]:
    """Every widget of a portal's lines, by line row id."""
    rows = await session.scalars(
        select(Widget)
        .join(Line, Line.id == Widget.line_id)
        .where(Line.portal_id == portal_id)
        .order_by(Widget.id)
        .execution_options(populate_existing=True)
    )
    widgets: dict[int, WidgetRecord] = {}
    for row in rows:
        widgets.setdefault(row.line_id, WidgetRecord.of(row))
    return widgets


async def set_allowed_origins(
    session: AsyncSession, widget_id: int, origins: Sequence[str], now: datetime
) -> None:
    """Replace the widget's allowed origins (already normalised by ``core.origins.parse_origin_list``)."""
    await session.execute(
        update(Widget).where(Widget.id == widget_id).values(allowed_origins=list(origins), updated_at=now)
    )


def open_identity_secret(box: SecretBox, widget: WidgetRecord) -> str | None:
    """The widget's identity secret in clear (for HMAC checks and the admin's settings page)."""
    return box.open(widget.identity_secret_sealed) if widget.identity_secret_sealed is not None else None
