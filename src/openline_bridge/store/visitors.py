"""Visitors: the people on the external side of a widget, found by token hash or by signed user id.

Each visitor gets one random ``external_user_id`` at creation and keeps it for life: Bitrix24 keeps one
internal user per external id (contract §8.7), so it must never change or be shared (pitfall P12).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.errors import NotFoundError
from openline_bridge.ids import new_token
from openline_bridge.store.models import Visitor
from openline_bridge.store.upsert import insert_on_conflict

__all__ = ["create_anonymous", "find_by_token_hash", "get", "get_or_create_signed", "new_external_user_id"]


def new_external_user_id() -> str:
    """A fresh ``user.id`` toward Bitrix24; ``u-`` keeps it apart from chat ids (pitfall P12)."""
    return f"u-{new_token(18)}"


async def get(session: AsyncSession, visitor_id: int) -> Visitor:
    """The visitor with this id (NotFoundError otherwise)."""
    visitor = await session.get(Visitor, visitor_id)
    if visitor is None:
        raise NotFoundError(f"no visitor {visitor_id}")
    return visitor


async def find_by_token_hash(session: AsyncSession, token_hash: str) -> Visitor | None:
    """The visitor whose bearer token hashes to ``token_hash``."""
    found: Visitor | None = await session.scalar(select(Visitor).where(Visitor.token_hash == token_hash))
    return found


async def create_anonymous(session: AsyncSession, widget_id: int, token_hash: str, now: datetime) -> Visitor:
    """A new visitor of a widget, known only by its token."""
    visitor = Visitor(
        widget_id=widget_id,
        external_user_id=new_external_user_id(),
        token_hash=token_hash,
        created_at=now,
        last_seen_at=now,
    )
    session.add(visitor)
    await session.flush()
    return visitor


async def get_or_create_signed(
    session: AsyncSession, widget_id: int, signed_user_id: str, token_hash: str, now: datetime
) -> tuple[Visitor, bool]:
    """The visitor bound to the site's ``signed_user_id`` on this widget, created on first sight.

    Concurrent first requests for one user id create one visitor (unique on widget + user id).
    """
    inserted = (
        await session.execute(
            insert_on_conflict(session, Visitor)
            .values(
                widget_id=widget_id,
                signed_user_id=signed_user_id,
                external_user_id=new_external_user_id(),
                token_hash=token_hash,
                created_at=now,
                last_seen_at=now,
            )
            .on_conflict_do_nothing(index_elements=[Visitor.widget_id, Visitor.signed_user_id])
            .returning(Visitor.id)
        )
    ).scalar()
    visitor = await session.scalar(
        select(Visitor)
        .where(Visitor.widget_id == widget_id, Visitor.signed_user_id == signed_user_id)
        .execution_options(populate_existing=True)
    )
    assert visitor is not None, "inserted or conflicting row is visible in this transaction"
    return visitor, inserted is not None
