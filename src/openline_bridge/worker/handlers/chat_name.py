"""``set_chat_name``: the visitor's name → ``imconnector.chat.name.set`` (contract §8.12), one call each
(the dispatcher folds several into one ``batch``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.bitrix24 import methods
from openline_bridge.bitrix24.client import RestCaller
from openline_bridge.relay.status import FailureCode
from openline_bridge.store.outbox import ClaimedJob
from openline_bridge.worker.handlers.base import Env, Prepared, Ready, Settled, prepare_each
from openline_bridge.worker.handlers.outgoing import display_name
from openline_bridge.worker.jobs import JobKind
from openline_bridge.worker.loading import ConversationContext, load_conversations
from openline_bridge.worker.outcomes import Done, Effect, Outcome

__all__ = ["ChatNameHandler"]


@dataclass(frozen=True)
class _Rename:
    external_chat_id: str
    external_user_id: str
    name: str


class ChatNameHandler:
    """Renames the chat to the visitor's current name."""

    kind = JobKind.SET_CHAT_NAME
    max_per_call: int | None = 1  # contract §8.12: one chat per call

    async def prepare(self, session: AsyncSession, jobs: Sequence[ClaimedJob], env: Env) -> list[Prepared]:
        """A visitor without a usable name leaves the chat's title alone."""

        def decide(job: ClaimedJob, context: ConversationContext) -> Prepared:
            name = display_name(context.visitor)
            if name is None:
                return Settled(job, Done())
            rename = _Rename(context.conversation.external_chat_id, context.visitor.external_user_id, name)
            return Ready(job, context.bitrix_line_id, rename)

        return await prepare_each(session, jobs, load_conversations, decide)

    async def execute(
        self, caller: RestCaller, env: Env, bitrix_line_id: int, ready: Sequence[Ready]
    ) -> list[Outcome]:
        """One ``chat.name.set`` (``max_per_call`` is 1)."""
        (entry,) = ready
        await methods.chat_name_set(
            caller,
            env.connector_id,
            bitrix_line_id,
            external_chat_id=entry.item.external_chat_id,
            name=entry.item.name,
            external_user_id=entry.item.external_user_id,
        )
        return [Done()]

    def failure_effect(self, ready: Ready, code: FailureCode, reason: str) -> Effect | None:
        """Only the operator's chat title is affected."""
        return None
