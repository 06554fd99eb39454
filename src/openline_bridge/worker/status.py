"""Delivery progress of visitor messages as the worker learns it, through the relay's one status rule
(``relay.status.change_status``: forward only, with a ``message.status`` event in the same transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.relay.status import Failure, FailureCode, change_status
from openline_bridge.store import conversations
from openline_bridge.store.models import Message, MessageStatus

__all__ = ["mark_accepted", "mark_failed"]


async def mark_accepted(
    session: AsyncSession,
    message_id: int,
    now: datetime,
    *,
    bitrix_chat_id: int | None,
    bitrix_session_id: int | None,
) -> None:
    """Bitrix24 accepted a visitor message: ``delivered`` when it placed it in a session, else ``sent``."""
    message = await session.get(Message, message_id)
    if message is None:
        return
    await conversations.record_bitrix_ids(
        session,
        message.conversation_id,
        now,
        bitrix_chat_id=bitrix_chat_id,
        bitrix_session_id=bitrix_session_id,
    )
    # protocol §4.4: "delivered" = the reply carried a session (contract §8.7 `session`)
    accepted = MessageStatus.DELIVERED if bitrix_session_id is not None else MessageStatus.SENT
    await change_status(session, message, accepted, now=now)


async def mark_failed(
    session: AsyncSession, message_id: int, code: FailureCode, reason: str, now: datetime
) -> None:
    """A visitor message will not reach Bitrix24 (protocol §4.4 ``failure``)."""
    message = await session.get(Message, message_id)
    if message is not None:
        await change_status(
            session, message, MessageStatus.FAILED, failure=Failure(code, reason[:1000]), now=now
        )
