"""``confirm_delivery`` / ``confirm_reading``: operator messages confirmed to Bitrix24 with
``imconnector.send.status.delivery`` / ``.reading`` (contract §8.10, §8.11), many per call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.bitrix24 import methods
from openline_bridge.bitrix24.client import RestCaller
from openline_bridge.bitrix24.methods import DeliveryReceipt
from openline_bridge.relay.status import FailureCode
from openline_bridge.store.outbox import ClaimedJob
from openline_bridge.worker.handlers.base import Env, Prepared, Ready, Settled, load_message_jobs
from openline_bridge.worker.jobs import JobKind
from openline_bridge.worker.loading import MessageContext
from openline_bridge.worker.outcomes import Done, Effect, Failed, Outcome

__all__ = ["DeliveryHandler", "ReadingHandler"]

ReceiptCall = Callable[[RestCaller, str, int, Sequence[DeliveryReceipt]], Awaitable[None]]


class _ReceiptHandler:
    kind: JobKind
    max_per_call: int | None = None
    _call: ReceiptCall

    async def prepare(self, session: AsyncSession, jobs: Sequence[ClaimedJob], env: Env) -> list[Prepared]:
        """Receipts need the Bitrix24 chat and message ids the operator's event carried."""
        delivered_at = int(env.clock().timestamp())

        def decide(job: ClaimedJob, context: MessageContext) -> Prepared:
            message, conversation = context.message, context.where.conversation
            if message.bitrix_message_id is None or conversation.bitrix_chat_id is None:
                return Settled(job, Failed("rejected", "the Bitrix24 chat or message id is unknown"))
            receipt = DeliveryReceipt(
                bitrix_chat_id=conversation.bitrix_chat_id,
                bitrix_message_id=message.bitrix_message_id,
                external_chat_id=conversation.external_chat_id,
                # pitfall P19: our id for the operator message, always as a list
                external_message_ids=[message.external_message_id or str(message.id)],
                delivered_at=delivered_at,
            )
            return Ready(job, context.where.bitrix_line_id, receipt)

        return await load_message_jobs(session, jobs, decide)

    async def execute(
        self, caller: RestCaller, env: Env, bitrix_line_id: int, ready: Sequence[Ready]
    ) -> list[Outcome]:
        """One call confirms every message of the line (contract §8.10: no per-message result)."""
        await type(self)._call(caller, env.connector_id, bitrix_line_id, [entry.item for entry in ready])
        return [Done() for _ in ready]

    def failure_effect(self, ready: Ready, code: FailureCode, reason: str) -> Effect | None:
        """The visitor has the message either way; only the operator's tick is missing."""
        return None


class DeliveryHandler(_ReceiptHandler):
    """Delivery confirmations; without them operators see messages as undelivered (pitfall P19)."""

    kind = JobKind.CONFIRM_DELIVERY
    _call = staticmethod(methods.send_status_delivery)


class ReadingHandler(_ReceiptHandler):
    """Read receipts (contract §8.11: accepted, no visible effect today)."""

    kind = JobKind.CONFIRM_READING
    _call = staticmethod(methods.send_status_reading)
