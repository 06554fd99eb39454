"""Verifying and recording Bitrix24 events with group commit: one transaction per burst, not per event.

``POST /b24/events`` must answer within milliseconds (pitfall P7) and only after the event is durable.
A transaction costs a few milliseconds whatever it holds (SQLite hands every statement to a thread;
PostgreSQL pays a round trip per statement), so one per event caps a process at a few hundred events
per second and queues the rest. :class:`EventIntake` therefore group-commits
(:class:`~openline_bridge.store.group_commit.GroupCommit`): every event that arrives while a transaction
is in flight joins the next one, which looks up all their portals in one query, checks each
``application_token`` in constant time, inserts the genuine ones in one statement and commits. Each
request waits for its own outcome, so nothing is acknowledged before it is stored.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from openline_bridge.bitrix24.errors import ForgedEvent
from openline_bridge.bitrix24.events import Event, dedup_key, verify_application_token
from openline_bridge.crypto import SecretBox
from openline_bridge.store import inbox, portals
from openline_bridge.store.database import Database
from openline_bridge.store.group_commit import GroupCommit
from openline_bridge.store.inbox import NewInboxEvent
from openline_bridge.store.types import utc_now

__all__ = ["EventIntake", "IntakeOutcome"]


class IntakeOutcome(enum.Enum):
    """What became of one submitted event."""

    ACCEPTED = "accepted"  # recorded in the inbox
    DUPLICATE = "duplicate"  # already recorded (pitfall P9): a no-op
    UNKNOWN_PORTAL = "unknown_portal"  # no active portal with this member_id
    FORGED = "invalid_application_token"  # application_token differs from the stored one (P8)


@dataclass(frozen=True)
class _Submission:
    event: Event
    payload: dict[str, Any]


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
        self._group: GroupCommit[_Submission, IntakeOutcome] = GroupCommit(
            self._write, name="intake", max_batch=max_batch, writers=writers
        )

    async def submit(self, event: Event, payload: dict[str, Any]) -> IntakeOutcome:
        """Verify and record ``event`` (``payload`` is what the inbox keeps).

        Raises what the batch's transaction raised (``StorageError`` when the database failed).
        """
        return await self._group.submit(_Submission(event, payload))

    async def close(self) -> None:
        """Stop writing; submissions still waiting fail with ``StorageError``."""
        await self._group.close()

    async def _write(self, batch: list[_Submission]) -> list[IntakeOutcome]:
        outcomes: list[IntakeOutcome] = []
        to_record: list[NewInboxEvent] = []
        async with self._database.transaction(brief=True) as session:
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
        accepted = {
            submission.event.envelope.name
            for submission, outcome in zip(batch, outcomes, strict=True)
            if outcome is IntakeOutcome.ACCEPTED
        }
        if accepted:
            self._on_recorded(accepted)
        return outcomes
