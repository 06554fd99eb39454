"""Creating and resuming visitor sessions (docs/protocol.md §6.1) with signed identities (§2.2).

Everything happens in one transaction: find the widget, check the ``Origin`` and the identity, pick or
create the visitor, issue a token (only its hash is stored), make sure the conversation exists. An invalid
identity refuses before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from openline_bridge.channels.widget.auth import identity_matches, new_visitor_token
from openline_bridge.channels.widget.context import WidgetApi
from openline_bridge.channels.widget.errors import WidgetError
from openline_bridge.channels.widget.origins import require_origin
from openline_bridge.channels.widget.schemas import SessionRequest
from openline_bridge.ids import token_hash
from openline_bridge.store import conversations, visitor_tokens, visitors, widgets
from openline_bridge.store.models import Conversation, Visitor, Widget
from openline_bridge.store.widgets import WidgetRecord

__all__ = ["OpenedSession", "open_session"]


@dataclass(frozen=True)
class OpenedSession:
    """The outcome of ``POST /sessions``: the token to return and what the response describes."""

    token: str
    created: bool
    visitor_id: int
    visitor: dict[str, Any]
    conversation: dict[str, Any]
    look: dict[str, Any]
    greeting: dict[str, Any]


def _invalid_signature(reason: str) -> WidgetError:
    return WidgetError(403, "invalid_signature", reason)


def _check_identity(api: WidgetApi, widget: WidgetRecord, request: SessionRequest) -> str | None:
    """The proven ``user_id``, None without identity; ``invalid_signature`` for any bad one (§2.2 rule 1)."""
    if request.user_id is None and request.hash is None:
        return None
    if request.user_id is None or request.hash is None:
        raise _invalid_signature("user_id and hash must be sent together")
    secret = widgets.open_identity_secret(api.secret_box, widget)
    if secret is None:
        raise _invalid_signature("this widget does not accept signed identities")
    if not identity_matches(secret, request.user_id, request.hash):
        raise _invalid_signature("hash does not match user_id")
    return request.user_id


async def _bound_visitor(session: AsyncSession, widget_id: int, user_id: str) -> Visitor | None:
    found: Visitor | None = await session.scalar(
        select(Visitor)
        .where(Visitor.widget_id == widget_id, Visitor.signed_user_id == user_id)
        .execution_options(populate_existing=True)
    )
    return found


async def _promote(session: AsyncSession, visitor: Visitor, user_id: str) -> bool:
    """Bind an anonymous visitor to ``user_id`` (§2.2 rule 3); False if another request bound it first."""
    try:
        async with session.begin_nested():
            visitor.signed_user_id = user_id
            await session.flush()
    except IntegrityError:
        await session.refresh(visitor)
        return False
    return True


async def _signed_visitor(
    session: AsyncSession,
    widget_id: int,
    user_id: str,
    presented: Visitor | None,
    new_hash: str,
    now: datetime,
) -> tuple[Visitor, bool]:
    """The visitor of ``user_id`` and whether it was created (§2.2 rules 2–4)."""
    bound = await _bound_visitor(session, widget_id, user_id)
    if bound is not None:
        return bound, False
    if (
        presented is not None
        and presented.signed_user_id is None
        and await _promote(session, presented, user_id)
    ):
        return presented, False
    return await visitors.get_or_create_signed(session, widget_id, user_id, new_hash, now)


async def _presented_visitor(session: AsyncSession, widget_id: int, token: str | None) -> Visitor | None:
    """The visitor of the request's bearer token if it belongs to this widget; stale tokens are ignored."""
    if token is None:
        return None
    visitor = await visitor_tokens.find_visitor(session, token_hash(token))
    return visitor if visitor is not None and visitor.widget_id == widget_id else None


def _conversation_json(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": str(conversation.id),
        "state": conversation.state.value,
        "last_seq": conversation.last_seq,
        "read_seq": conversation.read_seq,
    }


def _visitor_json(visitor: Visitor) -> dict[str, Any]:
    return {"name": visitor.name, "email": visitor.email, "identified": visitor.signed_user_id is not None}


async def open_session(
    api: WidgetApi, connection: HTTPConnection, widget_key: str, request: SessionRequest, token: str | None
) -> OpenedSession:
    """Resume the token's visitor or create one (protocol §6.1); the token is the request's bearer token."""
    now = api.relay.clock()
    async with api.relay.database.transaction() as session:
        widget = await widgets.find_by_public_key(session, widget_key)
        if widget is None:
            raise WidgetError(404, "not_found", "unknown widget")
        require_origin(connection, widget.allowed_origins)
        user_id = _check_identity(api, widget, request)
        presented = await _presented_visitor(session, widget.id, token)
        if user_id is None and presented is not None and token is not None:
            visitor, created, issued = presented, False, token
            await visitor_tokens.touch(session, token_hash(token), now)
        else:
            issued = new_visitor_token()
            if user_id is None:
                visitor, created = (
                    await visitors.create_anonymous(session, widget.id, token_hash(issued), now),
                    True,
                )
            else:
                visitor, created = await _signed_visitor(
                    session, widget.id, user_id, presented, token_hash(issued), now
                )
            await visitor_tokens.add(session, visitor.id, token_hash(issued), now)
        conversation = await conversations.get_or_create(session, visitor.id, widget.line_id, now)
        if request.page_url is not None:
            conversation.page_url = request.page_url
        if request.locale is not None:
            visitor.locale = request.locale
        row = await session.get(Widget, widget.id)
        assert row is not None, "the widget was just found"
        return OpenedSession(
            token=issued,
            created=created,
            visitor_id=visitor.id,
            visitor=_visitor_json(visitor),
            conversation=_conversation_json(conversation),
            look=dict(row.look or {}),
            greeting=dict(row.greeting or {}),
        )
