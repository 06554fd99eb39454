"""Reading what a job is about, in bulk: one query per kind per wave, however many jobs it holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.store import attachments
from openline_bridge.store.models import Attachment, Conversation, Line, Message, Visitor

__all__ = ["ConversationContext", "MessageContext", "load_conversations", "load_messages"]


@dataclass(frozen=True)
class ConversationContext:
    """A conversation with its visitor and the Bitrix24 id of its line."""

    conversation: Conversation
    visitor: Visitor
    bitrix_line_id: int


@dataclass(frozen=True)
class MessageContext:
    """A message with its conversation, visitor, line and files (upload order)."""

    message: Message
    where: ConversationContext
    attachments: Sequence[Attachment]


async def load_conversations(
    session: AsyncSession, conversation_ids: Sequence[int]
) -> dict[int, ConversationContext]:
    """Conversations by id; missing ids are absent from the answer."""
    rows = await session.execute(
        select(Conversation, Visitor, Line.bitrix_line_id)
        .join(Visitor, Visitor.id == Conversation.visitor_id)
        .join(Line, Line.id == Conversation.line_id)
        .where(Conversation.id.in_(list(conversation_ids)))
    )
    return {
        conversation.id: ConversationContext(conversation, visitor, line)
        for conversation, visitor, line in rows
    }


async def load_messages(session: AsyncSession, message_ids: Sequence[int]) -> dict[int, MessageContext]:
    """Messages by id with everything a call about them needs; missing ids are absent."""
    rows = await session.execute(
        select(Message, Conversation, Visitor, Line.bitrix_line_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(Visitor, Visitor.id == Conversation.visitor_id)
        .join(Line, Line.id == Conversation.line_id)
        .where(Message.id.in_(list(message_ids)))
    )
    found = list(rows)
    files = await attachments.for_messages(session, [message.id for message, *_ in found])
    return {
        message.id: MessageContext(
            message, ConversationContext(conversation, visitor, line), files.get(message.id, [])
        )
        for message, conversation, visitor, line in found
    }
