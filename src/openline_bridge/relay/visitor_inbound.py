"""Visitor → Bitrix24: accept a message, an edit, a delete, a profile change and a read receipt.

Each use-case validates first, then in ONE transaction changes the rows, appends the conversation events
and enqueues the outbox jobs (ARCHITECTURE.md flow 3); it never calls Bitrix24. Events are published to
live subscribers after the commit (``relay.notify``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.relay.context import Relay
from openline_bridge.relay.errors import (
    EmptyMessage,
    MessageNotEditable,
    MessageTooLong,
    NotFound,
    RelayError,
    TooManyAttachments,
)
from openline_bridge.relay.serialize import parse_public_id
from openline_bridge.relay.status import change_status
from openline_bridge.relay.views import message_view
from openline_bridge.relay.visitor_messages import Posted, VisitorMessage
from openline_bridge.store import conversations, messages, visitors
from openline_bridge.store.conversation_events import append_event
from openline_bridge.store.models import Message, MessageDirection, MessageStatus
from openline_bridge.worker import jobs

__all__ = [
    "UNCHANGED",
    "Posted",
    "Profile",
    "accept_message",
    "change_profile",
    "delete_message",
    "edit_message",
    "mark_read",
    "normalise_text",
]

_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # protocol §6.3
_EMAIL = re.compile(r"^[^\s@]+@[^\s@]+$")  # protocol §6.7: one @ with text on both sides, no whitespace
NAME_MAX_CHARS = 100
EMAIL_MAX_CHARS = 254


class _Unchanged:
    """Marks a profile member the request did not mention (``None`` clears it)."""


UNCHANGED: Any = _Unchanged()


@dataclass(frozen=True)
class Profile:
    """The visitor's profile as clients see it (protocol §6.7)."""

    name: str | None
    email: str | None
    identified: bool


def normalise_text(text: str, max_chars: int) -> str:
    """Line breaks as ``\\n``, outer whitespace removed, at most ``max_chars`` code points (protocol §6.3)."""
    cleaned = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(cleaned) > max_chars:
        raise MessageTooLong(f"text is longer than {max_chars} characters")
    return cleaned


def _attachment_ids(raw: Sequence[str], limit: int) -> list[int]:
    if len(raw) > limit:
        raise TooManyAttachments(f"more than {limit} attachments")
    ids = []
    for value in raw:
        parsed = parse_public_id(value)
        if parsed is None:
            raise NotFound("attachment not found")
        ids.append(parsed)
    return list(dict.fromkeys(ids))


async def accept_message(
    relay: Relay,
    conversation_id: int,
    client_message_id: str,
    text: str,
    attachment_ids: Sequence[str] = (),
) -> Posted:
    """Store a visitor message with its ``message.created`` event and ``send_message`` job, idempotently.

    A repeated ``client_message_id`` returns the stored message and its original ``seq`` and enqueues
    nothing, except that a repeat of a failed message re-queues it (protocol §6.3, the client's retry).
    Concurrent calls share one transaction (``relay.visitor_writes``, group commit,
    ``relay.visitor_messages``); each returns only once its message is committed.
    """
    if not _CLIENT_ID.match(client_message_id):
        raise RelayError("client_message_id must be 1-64 characters of A-Z a-z 0-9 _ -")
    body = normalise_text(text, relay.message_max_chars)
    files = _attachment_ids(attachment_ids, relay.file_policy.per_message)
    if not body and not files:
        raise EmptyMessage("a message needs text or attachments")
    posted: Posted = await relay.visitor_writes.submit(
        VisitorMessage(conversation_id, client_message_id, body, tuple(files))
    )
    return posted


async def _own_message(session: AsyncSession, conversation_id: int, message_id: str) -> Message:
    parsed = parse_public_id(message_id)
    message = None if parsed is None else await messages.get_in_conversation(session, conversation_id, parsed)
    if message is None:
        raise NotFound("message not found")
    if message.direction != MessageDirection.FROM_VISITOR:
        raise MessageNotEditable("only the visitor's own messages can be changed")
    return message


async def edit_message(relay: Relay, conversation_id: int, message_id: str, text: str) -> Posted:
    """Change the text of the visitor's own message; forwards it with an ``update_message`` job (§6.4)."""
    body = normalise_text(text, relay.message_max_chars)
    now = relay.clock()
    async with relay.notifier.transaction(relay.database, brief=True) as session:
        message = await _own_message(session, conversation_id, message_id)
        if message.is_deleted:
            raise MessageNotEditable("a deleted message cannot be edited")
        view = await message_view(session, message)
        if not body and not view["attachments"]:
            raise EmptyMessage("a message without attachments needs text")
        if body == message.text:
            return Posted(view, None)
        message.text = body
        message.is_edited = True
        message.edited_at = now
        message.updated_at = now
        await session.flush()
        view = await message_view(session, message)
        seq = await append_event(session, conversation_id, "message.edited", {"message": view}, now=now)
        await jobs.update_message(
            session,
            portal_id=message.portal_id,
            conversation_id=conversation_id,
            message_id=message.id,
            revision=str(seq),
            now=now,
        )
        return Posted(view, seq)


async def delete_message(relay: Relay, conversation_id: int, message_id: str) -> Posted:
    """Delete the visitor's own message; forwards it with a ``delete_message`` job (§6.5)."""
    now = relay.clock()
    async with relay.notifier.transaction(relay.database, brief=True) as session:
        message = await _own_message(session, conversation_id, message_id)
        if message.is_deleted:
            return Posted(await message_view(session, message), None)
        message.is_deleted = True
        message.updated_at = now
        await session.flush()
        view = await message_view(session, message)
        seq = await append_event(session, conversation_id, "message.deleted", {"message": view}, now=now)
        await jobs.delete_message(
            session,
            portal_id=message.portal_id,
            conversation_id=conversation_id,
            message_id=message.id,
            now=now,
        )
        return Posted(view, seq)


async def mark_read(relay: Relay, conversation_id: int, seq: int) -> int:
    """Move the visitor's read position (protocol §6.6) and return it.

    When it grows, the operator messages up to it turn ``read`` (each with a ``message.status`` event and a
    ``confirm_reading`` job) and a ``conversation.read`` event tells the visitor's other devices.
    """
    if seq < 0:
        raise RelayError("seq must be an integer >= 0")
    now = relay.clock()
    async with relay.notifier.transaction(relay.database, brief=True) as session:
        before, after = await conversations.advance_read_seq(session, conversation_id, seq, now)
        if after == before:
            return after
        for message in await messages.unread_operator_messages(session, conversation_id, after):
            if await change_status(session, message, MessageStatus.READ, now=now) is not None:
                await jobs.confirm_reading(
                    session,
                    portal_id=message.portal_id,
                    conversation_id=conversation_id,
                    message_id=message.id,
                    now=now,
                )
        await append_event(session, conversation_id, "conversation.read", {"read_seq": after}, now=now)
        return after


def _clean_name(value: str | None) -> str | None:
    if value is None:
        return None
    name = value.strip()
    if not 1 <= len(name) <= NAME_MAX_CHARS:
        raise RelayError(f"name must be 1-{NAME_MAX_CHARS} characters")
    return name


def _clean_email(value: str | None) -> str | None:
    if value is None:
        return None
    email = value.strip()
    if len(email) > EMAIL_MAX_CHARS or not _EMAIL.match(email):
        raise RelayError("email is not a valid address")
    return email


async def change_profile(
    relay: Relay, visitor_id: int, *, name: Any = UNCHANGED, email: Any = UNCHANGED
) -> Profile:
    """Update the visitor's name and/or email (protocol §6.7); a new name renames the Bitrix24 chats
    (``set_chat_name`` jobs, contract §8.12). The email reaches Bitrix24 with the next message (§8.7)."""
    new_name = name if name is UNCHANGED else _clean_name(name)
    new_email = email if email is UNCHANGED else _clean_email(email)
    now = relay.clock()
    async with relay.notifier.transaction(relay.database, brief=True) as session:
        visitor = await visitors.get(session, visitor_id)
        renamed = new_name is not UNCHANGED and new_name != visitor.name
        if renamed:
            visitor.name = new_name
        if new_email is not UNCHANGED:
            visitor.email = new_email
        await session.flush()
        if renamed and new_name is not None:
            for conversation in await conversations.of_visitor(session, visitor_id):
                await jobs.set_chat_name(
                    session,
                    portal_id=await conversations.portal_of(session, conversation.id),
                    conversation_id=conversation.id,
                    revision=now.isoformat(),
                    now=now,
                )
        return Profile(visitor.name, visitor.email, visitor.signed_user_id is not None)
