"""One portal's rounds: claim due jobs, batch them into as few calls as possible, settle each job.

A round claims consecutive due jobs per conversation (``claim_due(runs=True)``) and works in waves: each
wave takes from every conversation its next stretch of jobs of one kind, so order inside a conversation
holds while many conversations share each call. ``send_message`` stretches go out as direct
``imconnector.send.messages`` calls, one per line and ``messages_per_call`` chunk; every other call of
the wave is folded into ``batch`` requests (:mod:`.batching`). When a job has to wait (retry, park), the
rest of its conversation is handed back untried, so a stuck job blocks only its own conversation.
"""

from __future__ import annotations

import random
from collections import defaultdict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.bitrix24.client import RestCaller
from openline_bridge.bitrix24.errors import Bitrix24Error
from openline_bridge.logging import get_logger
from openline_bridge.relay.notify import Notifier
from openline_bridge.store import outbox, portal_errors
from openline_bridge.store.database import Database
from openline_bridge.store.outbox import ClaimedJob
from openline_bridge.worker.backoff import next_attempt_at
from openline_bridge.worker.batching import call_together
from openline_bridge.worker.config import WorkerConfig
from openline_bridge.worker.handlers import HANDLERS, Env, Handler, Prepared, Ready, Settled
from openline_bridge.worker.jobs import JobKind
from openline_bridge.worker.outcomes import (
    AUTH_REVOKED,
    Done,
    Failed,
    Outcome,
    Park,
    Retry,
    outcome_for_error,
)
from openline_bridge.worker.reconcile import already_delivered

__all__ = ["PortalDispatcher"]

_log = get_logger(__name__)

Run = deque[ClaimedJob]
_KINDS = frozenset(kind.value for kind in JobKind)


@dataclass
class _Wave:
    """The jobs of one wave and what became of them."""

    jobs: list[ClaimedJob]
    run_of: dict[int, int]  # job id → index of its run
    ready: dict[int, Ready] = field(default_factory=dict)
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    stopped: set[int] = field(default_factory=set)  # runs that must not go on in this round
    settled: set[int] = field(default_factory=set)  # job ids whose outcome is already committed

    def record(self, job: ClaimedJob, outcome: Outcome) -> None:
        self.outcomes[job.id] = outcome
        if isinstance(outcome, Retry | Park):
            self.stopped.add(self.run_of[job.id])


def _runs(jobs: Sequence[ClaimedJob]) -> list[Run]:
    """Claimed jobs grouped by ordering key, each group in id order (jobs without a key run alone)."""
    keyed: dict[str, Run] = {}
    runs: list[Run] = []
    for job in sorted(jobs, key=lambda item: item.id):
        if job.ordering_key is None:
            runs.append(deque([job]))
        elif job.ordering_key in keyed:
            keyed[job.ordering_key].append(job)
        else:
            keyed[job.ordering_key] = deque([job])
            runs.append(keyed[job.ordering_key])
    return runs


def _take_stretch(run: Run) -> list[ClaimedJob]:
    """The run's leading jobs of one kind."""
    stretch = [run.popleft()]
    while run and run[0].kind == stretch[0].kind:
        stretch.append(run.popleft())
    return stretch


class PortalDispatcher:
    """Runs rounds for one portal while its lease is held by ``owner``."""

    def __init__(
        self,
        *,
        database: Database,
        notifier: Notifier,
        caller: RestCaller,
        portal_id: int,
        owner: str,
        env: Env,
        config: WorkerConfig,
        rng: random.Random,
        handlers: Mapping[JobKind, Handler] = HANDLERS,
    ) -> None:
        self._database = database
        self._notifier = notifier
        self._caller = caller
        self.portal_id = portal_id
        self._owner = owner
        self._env = env
        self._config = config
        self._rng = rng
        self._handlers = handlers
        self.auth_revoked = False  # set when Bitrix24 refused our grant; cleared when a probe succeeds

    def blocked(self) -> bool:
        """Whether the portal's jobs wait for its grant to come back (nothing is claimed meanwhile)."""
        return self.auth_revoked

    @property
    def _clock(self) -> Callable[[], datetime]:
        return self._env.clock

    async def run_round(self) -> int:
        """Claim and work off this portal's due jobs; how many were claimed (0: nothing was due)."""
        if self.blocked():
            return 0
        async with self._database.transaction() as session:
            jobs = await outbox.claim_due(
                session,
                self.portal_id,
                self._owner,
                self._clock(),
                limit=self._config.claim_limit,
                lock_for=self._config.lock_for,
                runs=True,
            )
        runs = _runs(jobs)
        while runs:
            wave = _Wave([], {})
            for index, run in enumerate(runs):
                for job in _take_stretch(run):
                    wave.jobs.append(job)
                    wave.run_of[job.id] = index
            await self._work(wave)
            if self.blocked():
                wave.stopped.update(range(len(runs)))
            await self._settle(wave, [job for index in sorted(wave.stopped) for job in runs[index]])
            runs = [run for index, run in enumerate(runs) if run and index not in wave.stopped]
        return len(jobs)

    async def _work(self, wave: _Wave) -> None:
        calls: list[tuple[Handler, int, list[Ready]]] = []
        for (kind, line), entries in (await self._prepare(wave)).items():
            handler = self._handlers[kind]
            size = handler.max_per_call or self._config.messages_per_call
            calls.extend((handler, line, entries[i : i + size]) for i in range(0, len(entries), size))
        for handler, line, chunk in calls:
            if handler.kind is JobKind.SEND_MESSAGE:
                await self._send_directly(wave, handler, line, chunk)
        others = [call for call in calls if call[0].kind is not JobKind.SEND_MESSAGE]
        if others and not self.blocked():
            results = await call_together(
                self._caller,
                [
                    partial(handler.execute, env=self._env, bitrix_line_id=line, ready=chunk)
                    for handler, line, chunk in others
                ],
            )
            for (_, line, chunk), result in zip(others, results, strict=True):
                self._record_call(wave, line, chunk, result)

    async def _prepare(self, wave: _Wave) -> dict[tuple[JobKind, int], list[Ready]]:
        """Let each kind's handler read its jobs (one transaction); the ready ones by kind and line."""
        by_kind: dict[str, list[ClaimedJob]] = defaultdict(list)
        for job in wave.jobs:
            by_kind[job.kind].append(job)
        prepared: list[Prepared] = []
        async with self._database.transaction() as session:
            for kind, jobs in by_kind.items():
                handler = self._handlers.get(JobKind(kind)) if kind in _KINDS else None
                if handler is None:
                    unknown = Failed("rejected", f"unknown job kind {kind!r}")
                    prepared.extend(Settled(job, unknown) for job in jobs)
                else:
                    prepared.extend(await handler.prepare(session, jobs, self._env))
        groups: dict[tuple[JobKind, int], list[Ready]] = defaultdict(list)
        for entry in sorted(prepared, key=lambda item: item.job.id):
            if isinstance(entry, Settled):
                wave.record(entry.job, entry.outcome)
            else:
                wave.ready[entry.job.id] = entry
                groups[(JobKind(entry.job.kind), entry.bitrix_line_id)].append(entry)
        return groups

    async def _send_directly(self, wave: _Wave, handler: Handler, line: int, chunk: list[Ready]) -> None:
        # visitor messages go one call at a time, so a conversation stopped by an earlier chunk stays stopped
        live = [entry for entry in chunk if wave.run_of[entry.job.id] not in wave.stopped]
        if not live or self.blocked():
            return
        checked = await already_delivered(self._caller, self.portal_id, live)
        for entry in live:
            if entry.job.id in checked:
                wave.record(entry.job, checked[entry.job.id])
        # a conversation whose earlier message waits for its history stops here, so order holds
        to_send = [e for e in live if e.job.id not in checked and wave.run_of[e.job.id] not in wave.stopped]
        if to_send:
            async with self._database.transaction() as session:
                await outbox.mark_maybe_sent(
                    session, [entry.job.id for entry in to_send], self._owner, self._clock()
                )
            try:
                result: list[Outcome] | Bitrix24Error = await handler.execute(
                    self._caller, self._env, line, to_send
                )
            except Bitrix24Error as exc:
                result = exc
            self._record_call(wave, line, to_send, result)
        # Commit what Bitrix24 answered before the next call: a crash later in the round must not leave
        # these messages marked as possibly sent, which would cost a history read each (pitfall P17).
        await self._settle_jobs(wave, [entry.job for entry in live if entry.job.id in wave.outcomes])

    def _record_call(
        self, wave: _Wave, line: int, chunk: Sequence[Ready], result: list[Outcome] | Bitrix24Error
    ) -> None:
        if isinstance(result, Bitrix24Error):
            _log.warning(
                "worker.call_failed",
                portal_id=self.portal_id,
                kind=chunk[0].job.kind,
                line=line,
                jobs=len(chunk),
                error=result.code,
            )
            outcomes: Sequence[Outcome] = [outcome_for_error(result, line)] * len(chunk)
        else:
            outcomes = result
        for entry, outcome in zip(chunk, outcomes, strict=True):
            if isinstance(outcome, Park) and outcome.reason == AUTH_REVOKED:
                self.auth_revoked = True
            wave.record(entry.job, outcome)

    async def _settle_jobs(self, wave: _Wave, jobs: Sequence[ClaimedJob]) -> None:
        now = self._clock()
        noted: set[str] = set()
        async with self._notifier.transaction(self._database) as session:
            for job in jobs:
                outcome, ready = wave.outcomes[job.id], wave.ready.get(job.id)
                await self._settle_one(session, job, outcome, ready, now, noted)
        wave.settled.update(job.id for job in jobs)

    async def _settle(self, wave: _Wave, untried: Sequence[ClaimedJob]) -> None:
        now = self._clock()
        noted: set[str] = set()
        async with self._notifier.transaction(self._database) as session:
            for job in wave.jobs:
                if job.id in wave.settled:
                    continue
                outcome = wave.outcomes.get(job.id)
                if outcome is None:
                    untried = [*untried, job]
                    continue
                await self._settle_one(session, job, outcome, wave.ready.get(job.id), now, noted)
            for job in untried:
                await outbox.release(session, job.id, self._owner, now)

    async def _settle_one(
        self,
        session: AsyncSession,
        job: ClaimedJob,
        outcome: Outcome,
        ready: Ready | None,
        now: datetime,
        noted: set[str],
    ) -> None:
        if isinstance(outcome, Retry) and job.attempts >= self._config.max_attempts:
            outcome = Failed("gave_up", f"gave up after {job.attempts} attempts: {outcome.reason}")
        if isinstance(outcome, Done):
            if await outbox.complete(session, job.id, self._owner, now) and outcome.effect is not None:
                await outcome.effect(session, now)
        elif isinstance(outcome, Failed):
            reason = f"{outcome.code}: {outcome.reason}"
            if await outbox.dead_letter(session, job.id, self._owner, reason, now):
                await self._note(session, job, outcome.code, outcome.reason, now, noted)
                effect = (
                    None
                    if ready is None
                    else self._handlers[JobKind(job.kind)].failure_effect(ready, outcome.code, outcome.reason)
                )
                if effect is not None:
                    await effect(session, now)
        elif isinstance(outcome, Retry):
            due = next_attempt_at(
                job.attempts,
                now,
                base=self._config.backoff_base,
                cap=self._config.backoff_cap,
                rng=self._rng,
                retry_at=outcome.retry_at,
            )
            await outbox.retry(
                session, job.id, self._owner, outcome.reason, due, maybe_sent=outcome.maybe_sent
            )
        elif await outbox.park(session, job.id, self._owner, outcome.reason):
            await self._note(session, job, outcome.reason, outcome.error, now, noted)

    async def _note(
        self, session: AsyncSession, job: ClaimedJob, code: str, message: str, now: datetime, noted: set[str]
    ) -> None:
        """Record a portal error for the app page, once per code and wave."""
        if code in noted:
            return
        noted.add(code)
        await portal_errors.record(session, self.portal_id, f"worker.{job.kind}", code, message[:1000], now)
