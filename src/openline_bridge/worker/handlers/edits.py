"""``update_message`` / ``delete_message``: a visitor's edit or delete → ``imconnector.update.messages`` /
``imconnector.delete.messages`` (contract §8.8, §8.9), many per call."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.bitrix24 import methods
from openline_bridge.bitrix24.client import RestCaller
from openline_bridge.bitrix24.methods import DeletedRef, MessageOutcome
from openline_bridge.relay.status import FailureCode
from openline_bridge.store.models import MessageStatus
from openline_bridge.store.outbox import ClaimedJob
from openline_bridge.worker.handlers.base import Env, Prepared, Ready, load_message_jobs_skipping
from openline_bridge.worker.handlers.outgoing import outgoing_message
from openline_bridge.worker.jobs import JobKind
from openline_bridge.worker.outcomes import Done, Effect, Failed, Outcome

__all__ = ["DeleteHandler", "UpdateHandler"]

# A message Bitrix24 never accepted has nothing there to edit or delete.
_NEVER_SENT = (MessageStatus.QUEUED, MessageStatus.FAILED)


def _per_message(results: Sequence[MessageOutcome]) -> list[Outcome]:
    return [
        Done() if result.success else Failed("rejected", "; ".join(result.errors) or "refused")
        for result in results
    ]


class UpdateHandler:
    """Sends the message's current text (edits made meanwhile are folded into one)."""

    kind = JobKind.UPDATE_MESSAGE
    max_per_call: int | None = None

    async def prepare(self, session: AsyncSession, jobs: Sequence[ClaimedJob], env: Env) -> list[Prepared]:
        """Skip messages never sent or deleted since (their delete job follows)."""
        return await load_message_jobs_skipping(
            session, jobs, lambda message: message.status in _NEVER_SENT or message.is_deleted
        )

    async def execute(
        self, caller: RestCaller, env: Env, bitrix_line_id: int, ready: Sequence[Ready]
    ) -> list[Outcome]:
        """One ``update.messages`` call (contract §8.8: same ids as when sent)."""
        elements = [outgoing_message(entry.item, env.signer) for entry in ready]
        return _per_message(await methods.update_messages(caller, env.connector_id, bitrix_line_id, elements))

    def failure_effect(self, ready: Ready, code: FailureCode, reason: str) -> Effect | None:
        """A failed edit leaves the message as the operator last saw it; nothing to show the visitor."""
        return None


class DeleteHandler:
    """Deletes the visitor's message in the operator's chat."""

    kind = JobKind.DELETE_MESSAGE
    max_per_call: int | None = None

    async def prepare(self, session: AsyncSession, jobs: Sequence[ClaimedJob], env: Env) -> list[Prepared]:
        """Skip messages Bitrix24 never accepted."""
        return await load_message_jobs_skipping(session, jobs, lambda message: message.status in _NEVER_SENT)

    async def execute(
        self, caller: RestCaller, env: Env, bitrix_line_id: int, ready: Sequence[Ready]
    ) -> list[Outcome]:
        """One ``delete.messages`` call (contract §8.9)."""
        refs = [
            DeletedRef(
                external_user_id=entry.item.where.visitor.external_user_id,
                external_chat_id=entry.item.where.conversation.external_chat_id,
                external_message_id=entry.item.message.external_message_id or str(entry.item.message.id),
            )
            for entry in ready
        ]
        return _per_message(await methods.delete_messages(caller, env.connector_id, bitrix_line_id, refs))

    def failure_effect(self, ready: Ready, code: FailureCode, reason: str) -> Effect | None:
        """The visitor already sees the message deleted; nothing more to show."""
        return None
