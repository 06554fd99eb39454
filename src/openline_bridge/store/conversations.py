"""Conversations: one per visitor and line, with a stable external chat id toward Bitrix24."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.errors import NotFoundError
from openline_bridge.ids import new_token
from openline_bridge.store.models import Conversation, ConversationState, Line, Visitor
from openline_bridge.store.tables import table_of
from openline_bridge.store.upsert import insert_on_conflict

__all__ = [
    "MessageAuthor",
    "advance_read_seq",
    "find_by_external_chat",
    "find_by_external_chats",
    "get",
    "get_or_create",
    "lock_for_visitor_messages",
    "of_visitor",
    "portal_of",
    "record_bitrix_ids",
    "set_state",
]


def new_external_chat_id() -> str:
    """A fresh ``chat.id`` toward Bitrix24, distinct in form from user ids (pitfall P12)."""
    return f"c-{new_token(18)}"


async def get(session: AsyncSession, conversation_id: int) -> Conversation:
    """The conversation with this id (NotFoundError otherwise)."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFoundError(f"no conversation {conversation_id}")
    return conversation


async def get_or_create(session: AsyncSession, visitor_id: int, line_id: int, now: datetime) -> Conversation:
    """The visitor's conversation on a line; concurrent first calls create exactly one (pitfall P13)."""
    await session.execute(
        insert_on_conflict(session, Conversation)
        .values(
            visitor_id=visitor_id,
            line_id=line_id,
            external_chat_id=new_external_chat_id(),
            state=ConversationState.OPEN,
            last_seq=0,
            read_seq=0,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=[Conversation.visitor_id, Conversation.line_id])
    )
    conversation = await session.scalar(
        select(Conversation).where(Conversation.visitor_id == visitor_id, Conversation.line_id == line_id)
    )
    assert conversation is not None, "inserted or conflicting row is visible in this transaction"
    return conversation


async def find_by_external_chat(
    session: AsyncSession, portal_id: int, external_chat_id: str
) -> Conversation | None:
    """The conversation of a portal whose ``chat.id`` toward Bitrix24 is ``external_chat_id``."""
    found: Conversation | None = await session.scalar(
        select(Conversation)
        .join(Line, Line.id == Conversation.line_id)
        .where(Line.portal_id == portal_id, Conversation.external_chat_id == external_chat_id)
    )
    return found


async def find_by_external_chats(
    session: AsyncSession, portal_id: int, external_chat_ids: Collection[str]
) -> dict[str, Conversation]:
    """:func:`find_by_external_chat` for many chats at once, by ``external_chat_id`` (unknown ones absent)."""
    if not external_chat_ids:
        return {}
    rows = await session.scalars(
        select(Conversation)
        .join(Line, Line.id == Conversation.line_id)
        .where(Line.portal_id == portal_id, Conversation.external_chat_id.in_(list(external_chat_ids)))
    )
    return {conversation.external_chat_id: conversation for conversation in rows}


async def record_bitrix_ids(
    session: AsyncSession,
    conversation_id: int,
    now: datetime,
    *,
    bitrix_chat_id: int | None = None,
    bitrix_session_id: int | None = None,
) -> None:
    """Remember Bitrix24's chat and/or session id of a conversation (contract §8.7 reply, §9.1, §9.6)."""
    values: dict[str, object] = {"updated_at": now}
    if bitrix_chat_id is not None:
        values["bitrix_chat_id"] = bitrix_chat_id
    if bitrix_session_id is not None:
        values["bitrix_session_id"] = bitrix_session_id
    await session.execute(update(Conversation).where(Conversation.id == conversation_id).values(**values))


async def set_state(
    session: AsyncSession, conversation_id: int, state: ConversationState, now: datetime
) -> None:
    """Open or close the conversation (the latest Bitrix24 session's state)."""
    await session.execute(
        update(Conversation).where(Conversation.id == conversation_id).values(state=state, updated_at=now)
    )


async def advance_read_seq(
    session: AsyncSession, conversation_id: int, seq: int, now: datetime
) -> tuple[int, int]:
    """Move the read position to ``max(read_seq, min(seq, last_seq))`` (protocol §6.6).

    Returns ``(before, after)``; the row is locked for the rest of the transaction on PostgreSQL.
    """
    row = (
        await session.execute(
            select(Conversation.read_seq, Conversation.last_seq)
            .where(Conversation.id == conversation_id)
            .with_for_update()
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no conversation {conversation_id}")
    before, last = row
    after = max(before, min(seq, last))
    if after != before:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(read_seq=after, updated_at=now)
        )
    return before, after


async def portal_of(session: AsyncSession, conversation_id: int) -> int:
    """The portal a conversation belongs to (through its line)."""
    portal_id = await session.scalar(
        select(Line.portal_id)
        .join(Conversation, Conversation.line_id == Line.id)
        .where(Conversation.id == conversation_id)
    )
    if portal_id is None:
        raise NotFoundError(f"no conversation {conversation_id}")
    return portal_id


@dataclass(frozen=True)
class MessageAuthor:
    """Who a visitor message of a conversation goes to and from: its portal and the visitor's name."""

    portal_id: int
    visitor_name: str | None


def _lock_for_visitor_messages() -> Select[int, int, str | None]:
    conversation, line, visitor = table_of(Conversation), table_of(Line), table_of(Visitor)
    return (
        select(conversation.c.id, line.c.portal_id, visitor.c.name)
        .select_from(conversation)
        .join(line, conversation.c.line_id == line.c.id)
        .join(visitor, conversation.c.visitor_id == visitor.c.id)
        .where(conversation.c.id.in_(bindparam("ids", expanding=True)))
        .order_by(conversation.c.id)  # one locking order for every process: no deadlock between them
        .with_for_update(of=conversation)
    )


# Built once, as the other statements of the visitor message batch (store.statements)
_LOCK_FOR_VISITOR_MESSAGES = _lock_for_visitor_messages()


async def lock_for_visitor_messages(
    session: AsyncSession, conversation_ids: Collection[int]
) -> dict[int, MessageAuthor]:
    """Portal and visitor name of each existing conversation, in one query (the message hot path).

    On PostgreSQL the conversations stay row-locked until commit, so another process storing messages of
    the same conversation waits, and then sees them, before it checks which ``client_message_id`` are
    taken. SQLite's ``BEGIN IMMEDIATE`` already serialises writers.
    """
    if not conversation_ids:
        return {}
    rows = await session.execute(_LOCK_FOR_VISITOR_MESSAGES, {"ids": list(conversation_ids)})
    return {conversation_id: MessageAuthor(portal_id, name) for conversation_id, portal_id, name in rows}


async def of_visitor(session: AsyncSession, visitor_id: int) -> list[Conversation]:
    """Every conversation of a visitor (one per line)."""
    return list(await session.scalars(select(Conversation).where(Conversation.visitor_id == visitor_id)))
