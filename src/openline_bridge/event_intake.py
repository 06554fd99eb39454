"""Verifying and recording Bitrix24 events with group commit: one transaction per burst, not per event.

``POST /b24/events`` must answer within milliseconds (pitfall P7) and only after the event is durable.
A transaction costs a few milliseconds whatever it holds (SQLite hands every statement to a thread;
PostgreSQL pays a round trip per statement), so one per event caps a process at a few hundred events
per second and queues the rest. :class:`EventIntake` therefore has one writer task: every event that
arrives while a transaction is in flight joins the next one, which looks up all their portals in one
query, checks each ``application_token`` in constant time, inserts the genuine ones in one statement
and commits. Each request waits for its own outcome, so nothing is acknowledged before it is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from openline_bridge.bitrix24.errors import ForgedEvent
from openline_bridge.bitrix24.events import Event, dedup_key, verify_application_token
from openline_bridge.crypto import SecretBox
from openline_bridge.errors import StorageError
from openline_bridge.logging import get_logger
from openline_bridge.store import inbox, portals
from openline_bridge.store.database import Database
from openline_bridge.store.inbox import NewInboxEvent
from openline_bridge.store.types import utc_now

__all__ = ["EventIntake", "IntakeOutcome"]

_log = get_logger(__name__)


class IntakeOutcome(enum.Enum):
    """What became of one submitted event."""

    ACCEPTED = "accepted"  # recorded in the inbox
    DUPLICATE = "duplicate"  # already recorded (pitfall P9): a no-op
    UNKNOWN_PORTAL = "unknown_portal"  # no active portal with this member_id
    FORGED = "invalid_application_token"  # application_token differs from the stored one (P8)


@dataclass
class _Submission:
    event: Event
    payload: dict[str, Any]
    outcome: asyncio.Future[IntakeOutcome] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class EventIntake:
    """Batches submitted events into transactions; :meth:`submit` returns once its event is settled.

    ``on_recorded`` hears the names of the events each transaction recorded; ``writers`` transactions
    may be in flight at once (1 for SQLite, whose writers queue on one lock anyway).
    """

    def __init__(
        self,
        database: Database,
        secret_box: SecretBox,
        *,
        on_recorded: Callable[[Collection[str]], None] = lambda names: None,
        max_batch: int = 500,
        writers: int = 1,
    ) -> None:
        self._database = database
        self._box = secret_box
        self._on_recorded = on_recorded
        self._max_batch = max_batch
        self._writer_count = writers
        self._queue: list[_Submission] = []
        self._arrived = asyncio.Event()
        self._writers: list[asyncio.Task[None]] = []

    async def submit(self, event: Event, payload: dict[str, Any]) -> IntakeOutcome:
        """Verify and record ``event`` (``payload`` is what the inbox keeps).

        Raises what the batch's transaction raised (``StorageError`` when the database failed).
        """
        if not self._writers:
            self._writers = [asyncio.create_task(self._write_forever()) for _ in range(self._writer_count)]
        submission = _Submission(event, payload)
        self._queue.append(submission)
        self._arrived.set()
        return await submission.outcome

    async def close(self) -> None:
        """Stop the writers; submissions still waiting fail with ``StorageError``."""
        for writer in self._writers:
            writer.cancel()
        for writer in self._writers:
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        self._writers = []
        self._fail(self._queue, StorageError("the bridge is shutting down"))
        self._queue = []

    async def _write_forever(self) -> None:
        # Several writers overlap their transactions' round trips and commits (PostgreSQL); a writer
        # idles only when the queue is empty, so a burst arriving mid-transaction starts the next one.
        while True:
            if not self._queue:
                self._arrived.clear()
                await self._arrived.wait()
                continue
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            try:
                outcomes = await self._write(batch)
            except StorageError as exc:
                _log.warning("intake.batch_failed", events=len(batch), error=str(exc))
                self._fail(batch, exc)
                continue
            except Exception as exc:  # the writer must outlive any failure; each waiter gets it
                _log.exception("intake.batch_failed", events=len(batch))
                self._fail(batch, exc)
                continue
            for submission, outcome in zip(batch, outcomes, strict=True):
                if not submission.outcome.done():
                    submission.outcome.set_result(outcome)
            accepted = {
                submission.event.envelope.name
                for submission, outcome in zip(batch, outcomes, strict=True)
                if outcome is IntakeOutcome.ACCEPTED
            }
            if accepted:
                self._on_recorded(accepted)

    async def _write(self, batch: list[_Submission]) -> list[IntakeOutcome]:
        outcomes: list[IntakeOutcome] = []
        to_record: list[NewInboxEvent] = []
        async with self._database.transaction() as session:
            member_ids = {submission.event.envelope.auth.member_id for submission in batch}
            identities = await portals.callback_identities(session, self._box, member_ids)
            for submission in batch:
                auth = submission.event.envelope.auth
                identity = identities.get(auth.member_id)
                if identity is None:
                    outcomes.append(IntakeOutcome.UNKNOWN_PORTAL)
                    continue
                portal_id, expected = identity
                try:
                    verify_application_token(expected, submission.event)
                except ForgedEvent:
                    outcomes.append(IntakeOutcome.FORGED)
                    continue
                outcomes.append(IntakeOutcome.ACCEPTED)
                to_record.append(
                    NewInboxEvent(
                        portal_id,
                        submission.event.envelope.name,
                        dedup_key(submission.event),
                        submission.payload,
                    )
                )
            inserted = await inbox.record_many(session, to_record, utc_now())
        # The first copy of a (portal, key) pair that the statement inserted is the accepted one.
        claimed: set[tuple[int, str]] = set()
        recorded = iter(to_record)
        for index, outcome in enumerate(outcomes):
            if outcome is not IntakeOutcome.ACCEPTED:
                continue
            row = next(recorded)
            pair = (row.portal_id, row.dedup_key)
            if pair not in inserted or pair in claimed:
                outcomes[index] = IntakeOutcome.DUPLICATE
            claimed.add(pair)
        return outcomes

    @staticmethod
    def _fail(batch: list[_Submission], error: Exception) -> None:
        for submission in batch:
            if not submission.outcome.done():
                submission.outcome.set_exception(error)
