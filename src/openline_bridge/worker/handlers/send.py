"""``send_message``: visitor messages → ``imconnector.send.messages`` (contract §8.7), many per call."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.bitrix24 import methods
from openline_bridge.bitrix24.client import RestCaller
from openline_bridge.bitrix24.methods import MessageOutcome
from openline_bridge.relay.status import FailureCode
from openline_bridge.store.models import MessageStatus
from openline_bridge.store.outbox import ClaimedJob
from openline_bridge.worker import status
from openline_bridge.worker.handlers.base import Env, Prepared, Ready, load_message_jobs_skipping
from openline_bridge.worker.handlers.outgoing import outgoing_message
from openline_bridge.worker.jobs import JobKind
from openline_bridge.worker.outcomes import Done, Effect, Failed, Outcome

__all__ = ["SendHandler", "accepted"]

_ALREADY_ACCEPTED = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ)


def _bitrix_id(value: str | None) -> int | None:
    return int(value) if value is not None and value.isascii() and value.isdigit() else None


class SendHandler:
    """Sends stored visitor messages; marks them sent/delivered or failed with Bitrix24's reason."""

    kind = JobKind.SEND_MESSAGE
    max_per_call: int | None = None

    async def prepare(self, session: AsyncSession, jobs: Sequence[ClaimedJob], env: Env) -> list[Prepared]:
        """A message already accepted (a job retried by hand) or deleted before sending is not sent."""
        return await load_message_jobs_skipping(
            session, jobs, lambda message: message.status in _ALREADY_ACCEPTED or message.is_deleted
        )

    async def execute(
        self, caller: RestCaller, env: Env, bitrix_line_id: int, ready: Sequence[Ready]
    ) -> list[Outcome]:
        """One ``send.messages`` call; each element's own ``SUCCESS`` decides its job."""
        elements = [outgoing_message(entry.item, env.signer) for entry in ready]
        results = await methods.send_messages(caller, env.connector_id, bitrix_line_id, elements)
        return [self._outcome(entry, result) for entry, result in zip(ready, results, strict=True)]

    def _outcome(self, entry: Ready, result: MessageOutcome) -> Outcome:
        if not result.success:
            # contract §8.7 step 4 / pitfall P15: per-message SUCCESS false, top-level stays true
            return Failed("rejected", "; ".join(result.errors) or "refused by Bitrix24")
        return Done(
            accepted(
                entry.item.message.id, _bitrix_id(result.bitrix_chat_id), _bitrix_id(result.bitrix_session_id)
            )
        )

    def failure_effect(self, ready: Ready, code: FailureCode, reason: str) -> Effect | None:
        """The visitor sees the message failed with ``code``."""
        return partial(_failed, ready.item.message.id, code, reason)


def accepted(message_id: int, bitrix_chat_id: int | None, bitrix_session_id: int | None) -> Effect:
    """The effect of Bitrix24 holding a visitor message: it is sent, and its conversation knows the chat."""
    return partial(_accepted, message_id, bitrix_chat_id, bitrix_session_id)


async def _accepted(
    message_id: int,
    bitrix_chat_id: int | None,
    bitrix_session_id: int | None,
    session: AsyncSession,
    now: datetime,
) -> None:
    await status.mark_accepted(
        session, message_id, now, bitrix_chat_id=bitrix_chat_id, bitrix_session_id=bitrix_session_id
    )


async def _failed(
    message_id: int, code: FailureCode, reason: str, session: AsyncSession, now: datetime
) -> None:
    await status.mark_failed(session, message_id, code, reason, now)
