"""Outbox job kinds, their typed payloads and the enqueue helpers callers use inside their own transaction.

Payloads stay minimal (ids only): a handler reads the current state from the database when it runs, so an
edit made after enqueueing is what Bitrix24 receives. Every job touching one conversation shares the ordering
key ``conversation:<id>``, so the worker keeps them in order (a send before its edit, a chat before its name).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.store import outbox
from openline_bridge.store.outbox import Enqueued
from openline_bridge.store.types import utc_now

__all__ = [
    "ConversationJob",
    "JobKind",
    "JobPayloadError",
    "MessageJob",
    "confirm_delivery",
    "confirm_reading",
    "conversation_ordering_key",
    "delete_message",
    "parse_payload",
    "send_message",
    "set_chat_name",
    "update_message",
]


class JobKind(enum.StrEnum):
    """What a job asks Bitrix24 to do; the value is stored in ``outbox_jobs.kind``."""

    SEND_MESSAGE = "send_message"  # visitor message → imconnector.send.messages
    UPDATE_MESSAGE = "update_message"  # visitor edit → imconnector.update.messages
    DELETE_MESSAGE = "delete_message"  # visitor delete → imconnector.delete.messages
    CONFIRM_DELIVERY = "confirm_delivery"  # operator message stored → imconnector.send.status.delivery
    CONFIRM_READING = "confirm_reading"  # operator message seen → imconnector.send.status.reading
    SET_CHAT_NAME = "set_chat_name"  # visitor renamed → imconnector.chat.name.set


class JobPayloadError(ValueError):
    """A stored payload does not match its kind (a bug or a hand-edited row): the job is dead-lettered."""


@dataclass(frozen=True)
class MessageJob:
    """Payload of every message job: which message (its conversation is re-read when the job runs)."""

    message_id: int


@dataclass(frozen=True)
class ConversationJob:
    """Payload of ``set_chat_name``: which conversation (the visitor's current name is read at run time)."""

    conversation_id: int


def conversation_ordering_key(conversation_id: int) -> str:
    """The ordering key shared by every job of one conversation."""
    return f"conversation:{conversation_id}"


def parse_payload(kind: str, payload: dict[str, Any]) -> MessageJob | ConversationJob:
    """The typed payload of a stored job; raises :class:`JobPayloadError` if kind or payload is unknown."""
    try:
        job_kind = JobKind(kind)
    except ValueError:
        raise JobPayloadError(f"unknown job kind {kind!r}") from None
    field = "conversation_id" if job_kind is JobKind.SET_CHAT_NAME else "message_id"
    value = payload.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise JobPayloadError(f"{kind} payload needs a positive integer {field!r}")
    return ConversationJob(value) if job_kind is JobKind.SET_CHAT_NAME else MessageJob(value)


async def _enqueue(
    session: AsyncSession,
    kind: JobKind,
    portal_id: int,
    conversation_id: int,
    payload: dict[str, Any],
    key: str,
    now: datetime | None,
) -> Enqueued:
    return await outbox.enqueue(
        session,
        portal_id,
        kind.value,
        payload,
        f"{kind.value}:{key}",
        now or utc_now(),
        ordering_key=conversation_ordering_key(conversation_id),
    )


async def _message_job(
    session: AsyncSession,
    kind: JobKind,
    portal_id: int,
    conversation_id: int,
    message_id: int,
    now: datetime | None,
    revision: str | None = None,
) -> Enqueued:
    key = str(message_id) if revision is None else f"{message_id}:{revision}"
    return await _enqueue(session, kind, portal_id, conversation_id, {"message_id": message_id}, key, now)


async def send_message(
    session: AsyncSession,
    *,
    portal_id: int,
    conversation_id: int,
    message_id: int,
    now: datetime | None = None,
    revision: str | None = None,
) -> Enqueued:
    """Queue a stored visitor message for Bitrix24; enqueueing the same message twice changes nothing.

    ``revision`` names a resend of a failed message (protocol §6.3 retry), which needs a job of its own.
    """
    return await _message_job(
        session, JobKind.SEND_MESSAGE, portal_id, conversation_id, message_id, now, revision
    )


async def update_message(
    session: AsyncSession,
    *,
    portal_id: int,
    conversation_id: int,
    message_id: int,
    revision: str,
    now: datetime | None = None,
) -> Enqueued:
    """Queue a visitor edit; ``revision`` names this edit (e.g. the client's edit id) so each is sent once."""
    return await _message_job(
        session, JobKind.UPDATE_MESSAGE, portal_id, conversation_id, message_id, now, revision
    )


async def delete_message(
    session: AsyncSession,
    *,
    portal_id: int,
    conversation_id: int,
    message_id: int,
    now: datetime | None = None,
) -> Enqueued:
    """Queue a visitor delete (once per message)."""
    return await _message_job(session, JobKind.DELETE_MESSAGE, portal_id, conversation_id, message_id, now)


async def confirm_delivery(
    session: AsyncSession,
    *,
    portal_id: int,
    conversation_id: int,
    message_id: int,
    now: datetime | None = None,
) -> Enqueued:
    """Queue the delivery confirmation of a stored operator message (batched with others by the worker)."""
    return await _message_job(session, JobKind.CONFIRM_DELIVERY, portal_id, conversation_id, message_id, now)


async def confirm_reading(
    session: AsyncSession,
    *,
    portal_id: int,
    conversation_id: int,
    message_id: int,
    now: datetime | None = None,
) -> Enqueued:
    """Queue the read receipt of an operator message the visitor has seen (once per message)."""
    return await _message_job(session, JobKind.CONFIRM_READING, portal_id, conversation_id, message_id, now)


async def set_chat_name(
    session: AsyncSession,
    *,
    portal_id: int,
    conversation_id: int,
    revision: str,
    now: datetime | None = None,
) -> Enqueued:
    """Queue a chat rename after the visitor's name changed; ``revision`` names the change (a timestamp)."""
    return await _enqueue(
        session,
        JobKind.SET_CHAT_NAME,
        portal_id,
        conversation_id,
        {"conversation_id": conversation_id},
        f"{conversation_id}:{revision}",
        now,
    )
