"""What every handler offers the dispatcher: prepare jobs from the database, execute one call for many of
them, and say what a failure means for the visitor."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.bitrix24.client import RestCaller
from openline_bridge.relay.files import FileSigner
from openline_bridge.relay.status import FailureCode
from openline_bridge.store.models import Message
from openline_bridge.store.outbox import ClaimedJob
from openline_bridge.worker.jobs import JobKind, JobPayloadError, MessageJob, parse_payload
from openline_bridge.worker.loading import MessageContext, load_messages
from openline_bridge.worker.outcomes import Done, Effect, Failed, Outcome

__all__ = [
    "Env",
    "Handler",
    "Prepared",
    "Ready",
    "Settled",
    "load_message_jobs",
    "load_message_jobs_skipping",
    "prepare_each",
]

C = TypeVar("C")


@dataclass(frozen=True)
class Env:
    """What handlers need besides the database: the connector id, file URLs and the clock."""

    connector_id: str
    signer: FileSigner
    clock: Callable[[], datetime]


@dataclass(frozen=True)
class Ready:
    """A job ready for a call on ``bitrix_line_id``; ``item`` is the handler's own data for it."""

    job: ClaimedJob
    bitrix_line_id: int
    item: Any


@dataclass(frozen=True)
class Settled:
    """A job decided without a call (nothing left to do, or it cannot be done)."""

    job: ClaimedJob
    outcome: Outcome


Prepared = Ready | Settled


class Handler(Protocol):
    """One job kind's behaviour."""

    kind: JobKind
    max_per_call: int | None  # jobs one call may carry; None: the configured messages_per_call

    async def prepare(self, session: AsyncSession, jobs: Sequence[ClaimedJob], env: Env) -> list[Prepared]:
        """Read what each job is about now; one entry per job, in order."""

    async def execute(
        self, caller: RestCaller, env: Env, bitrix_line_id: int, ready: Sequence[Ready]
    ) -> list[Outcome]:
        """Make one call for all ``ready`` jobs of one line; one outcome per job, in order.

        A failure of the whole call is raised as a ``Bitrix24Error``.
        """

    def failure_effect(self, ready: Ready, code: FailureCode, reason: str) -> Effect | None:
        """What the visitor should see when this job fails for good (None: nothing)."""


async def prepare_each(
    session: AsyncSession,
    jobs: Sequence[ClaimedJob],
    load: Callable[[AsyncSession, Sequence[int]], Awaitable[Mapping[int, C]]],
    decide: Callable[[ClaimedJob, C], Prepared],
) -> list[Prepared]:
    """Load what each job's payload names (one ``load`` for all) and let ``decide`` prepare the job.

    A payload that does not fit its kind fails the job; a row that no longer exists (its conversation was
    deleted) leaves nothing to do.
    """
    wanted: dict[int, int] = {}
    prepared: dict[int, Prepared] = {}
    for job in jobs:
        try:
            payload = parse_payload(job.kind, job.payload)
        except JobPayloadError as exc:
            prepared[job.id] = Settled(job, Failed("rejected", str(exc)))
            continue
        wanted[job.id] = payload.message_id if isinstance(payload, MessageJob) else payload.conversation_id
    contexts = await load(session, list(wanted.values()))
    for job in jobs:
        if job.id in wanted:
            context = contexts.get(wanted[job.id])
            prepared[job.id] = Settled(job, Done()) if context is None else decide(job, context)
    return [prepared[job.id] for job in jobs]


async def load_message_jobs(
    session: AsyncSession,
    jobs: Sequence[ClaimedJob],
    decide: Callable[[ClaimedJob, MessageContext], Prepared],
) -> list[Prepared]:
    """:func:`prepare_each` for jobs naming a message."""
    return await prepare_each(session, jobs, load_messages, decide)


async def load_message_jobs_skipping(
    session: AsyncSession,
    jobs: Sequence[ClaimedJob],
    skip: Callable[[Message], bool],
) -> list[Prepared]:
    """:func:`load_message_jobs` where a job is ready unless ``skip`` says its message needs no call
    (such a job is settled as done)."""

    def decide(job: ClaimedJob, context: MessageContext) -> Prepared:
        if skip(context.message):
            return Settled(job, Done())
        return Ready(job, context.where.bitrix_line_id, context)

    return await load_message_jobs(session, jobs, decide)
