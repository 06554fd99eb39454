"""Visitor tokens: the hashes of the bearer tokens a widget's visitors hold, one per session created.

Only the SHA-256 of a token is stored (docs/protocol.md §2.1). :func:`find_access` resolves a token hash
to everything an authenticated request needs in one query: the visitor, its widget (for the ``Origin``
check) and its conversation on the widget's line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.store.models import Conversation, Visitor, VisitorToken, Widget
from openline_bridge.store.tables import table_of

__all__ = ["TokenAccess", "add", "find_access", "find_visitor", "touch"]


@dataclass(frozen=True)
class TokenAccess:
    """What a valid token grants: exactly one visitor's conversation on one widget."""

    visitor_id: int
    widget_id: int
    line_id: int
    conversation_id: int
    allowed_origins: tuple[str, ...]


async def add(session: AsyncSession, visitor_id: int, token_hash: str, now: datetime) -> None:
    """Remember a newly issued token of a visitor."""
    session.add(VisitorToken(visitor_id=visitor_id, token_hash=token_hash, created_at=now, last_used_at=now))
    await session.flush()


async def find_visitor(session: AsyncSession, token_hash: str) -> Visitor | None:
    """The visitor holding the token with this hash, or None."""
    found: Visitor | None = await session.scalar(
        select(Visitor)
        .join(VisitorToken, VisitorToken.visitor_id == Visitor.id)
        .where(VisitorToken.token_hash == token_hash)
    )
    return found


def _access_query() -> Select[int, int, int, int, list[str]]:
    token, visitor, widget = table_of(VisitorToken), table_of(Visitor), table_of(Widget)
    conversation = table_of(Conversation)
    return (
        select(visitor.c.id, widget.c.id, widget.c.line_id, conversation.c.id, widget.c.allowed_origins)
        .select_from(token)
        .join(visitor, visitor.c.id == token.c.visitor_id)
        .join(widget, widget.c.id == visitor.c.widget_id)
        .join(
            conversation,
            and_(conversation.c.visitor_id == visitor.c.id, conversation.c.line_id == widget.c.line_id),
        )
        .where(token.c.token_hash == bindparam("token_hash"))
    )


# Built once (store.statements): this runs for every request whose token is not cached, and building a
# statement of four tables cost more than running it.
_ACCESS = _access_query()


async def find_access(session: AsyncSession, token_hash: str) -> TokenAccess | None:
    """The visitor, widget and conversation of a token, or None for an unknown token."""
    row = (await session.execute(_ACCESS, {"token_hash": token_hash})).one_or_none()
    if row is None:
        return None
    visitor_id, widget_id, line_id, conversation_id, origins = row
    return TokenAccess(visitor_id, widget_id, line_id, conversation_id, tuple(origins or ()))


async def touch(session: AsyncSession, token_hash: str, now: datetime) -> None:
    """Record that a token was used to resume a session (for revoking long-unused tokens)."""
    await session.execute(
        update(VisitorToken).where(VisitorToken.token_hash == token_hash).values(last_used_at=now)
    )
