"""Message status changes (docs/protocol.md §4.4), shared by the relay and the worker.

Statuses only move forward (``queued → sent → delivered → read``, steps may be skipped), except
``queued|sent → failed`` and ``failed → queued`` (a retry). Every applied change appends a ``message.status``
event in the caller's transaction, so the visitor's clients see the tick; a change that would move backward
(e.g. a late ``sent`` after ``read``) is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.relay.serialize import status_payload
from openline_bridge.store.conversation_events import append_event
from openline_bridge.store.models import Message, MessageStatus
from openline_bridge.store.types import utc_now

__all__ = ["Failure", "FailureCode", "can_change", "change_status"]

FailureCode = Literal["line_inactive", "rejected", "attachment_unavailable", "gave_up"]

_RANK = {
    MessageStatus.QUEUED: 0,
    MessageStatus.SENT: 1,
    MessageStatus.RECEIVED: 1,
    MessageStatus.DELIVERED: 2,
    MessageStatus.READ: 3,
}


@dataclass(frozen=True)
class Failure:
    """Why a message will not be delivered: a protocol ``failure.code`` and English text for logs."""

    code: FailureCode
    message: str


def can_change(current: MessageStatus, new: MessageStatus) -> bool:
    """Whether ``current → new`` is an allowed transition (protocol §4.4)."""
    if new == MessageStatus.FAILED:
        return current in (MessageStatus.QUEUED, MessageStatus.SENT)
    if current == MessageStatus.FAILED:
        return new == MessageStatus.QUEUED
    return _RANK[new] > _RANK[current]


async def change_status(
    session: AsyncSession,
    message: Message,
    status: MessageStatus,
    *,
    failure: Failure | None = None,
    now: datetime | None = None,
) -> int | None:
    """Apply a status change to a loaded message and append its ``message.status`` event.

    Returns the event's ``seq``, or None when the transition is not allowed (nothing changes).
    """
    if (status == MessageStatus.FAILED) != (failure is not None):
        raise ValueError("a failure reason goes with status failed, and only with it")
    if not can_change(message.status, status):
        return None
    at = now or utc_now()
    message.status = status
    message.failure_code = failure.code if failure is not None else None
    message.failure_reason = failure.message if failure is not None else None
    message.updated_at = at
    await session.flush()
    return await append_event(
        session, message.conversation_id, "message.status", status_payload(message), now=at
    )
