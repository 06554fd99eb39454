"""What became of one job after its call, and the single mapping from Bitrix24 errors onto it.

The dispatcher settles each job by its outcome alone: ``Done`` completes it, ``Failed`` dead-letters it
(and the handler marks what the visitor sees), ``Retry`` backs off (or gives up after the last attempt),
``Park`` holds it until an outside change (``NOT_ACTIVE_LINE``, revoked access).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.bitrix24.errors import (
    AmbiguousError,
    AuthRevokedError,
    Bitrix24Error,
    LineInactiveError,
    PermanentError,
    ServerFailureError,
)
from openline_bridge.relay.status import FailureCode

__all__ = [
    "AUTH_REVOKED",
    "Done",
    "Effect",
    "Failed",
    "Outcome",
    "Park",
    "Retry",
    "line_inactive_reason",
    "outcome_for_error",
]

# A database change applied in the transaction that settles the job (e.g. the message becomes "sent").
Effect = Callable[[AsyncSession, datetime], Awaitable[None]]

AUTH_REVOKED = "auth_revoked"  # park reason: the portal's grant is gone until it reinstalls or pays


def line_inactive_reason(bitrix_line_id: int) -> str:
    """The park reason of jobs waiting for one line to be active again (resumed by that reason)."""
    return f"line_inactive:{bitrix_line_id}"


@dataclass(frozen=True)
class Done:
    """The call did what the job asked (or there was nothing left to do)."""

    effect: Effect | None = None


@dataclass(frozen=True)
class Failed:
    """Bitrix24 refused this job for good; ``code`` is the visitor's ``failure.code`` (protocol §4.4)."""

    code: FailureCode
    reason: str


@dataclass(frozen=True)
class Retry:
    """Try again later; ``retry_at`` (unix seconds) is the earliest sensible time if the portal said so;
    ``maybe_sent``: the call went out without an answer, so Bitrix24 may already have the job's effect."""

    reason: str
    retry_at: float | None = None
    maybe_sent: bool = False


@dataclass(frozen=True)
class Park:
    """Hold the job until its reason is resolved (:func:`line_inactive_reason` or ``AUTH_REVOKED``)."""

    reason: str
    error: str


Outcome = Done | Failed | Retry | Park


def outcome_for_error(error: Bitrix24Error, bitrix_line_id: int) -> Outcome:
    """The outcome of every job of a call that failed as a whole (error taxonomy of ``bitrix24.errors``)."""
    if isinstance(error, LineInactiveError):
        # contract §8.7 step 3: nothing is accepted until the connector is active on the line again
        return Park(line_inactive_reason(bitrix_line_id), str(error))
    if isinstance(error, AuthRevokedError):
        return Park(AUTH_REVOKED, str(error))
    if isinstance(error, PermanentError):
        return Failed("rejected", str(error))
    if isinstance(error, AmbiguousError | ServerFailureError):
        # pitfall P17: the call may have taken effect and Bitrix24 dedups nothing; the mark makes the next
        # attempt look in the chat's history before it sends again (docs/worker.md "Exactly once")
        return Retry(f"ambiguous: {error}", maybe_sent=True)
    # RetryableError, a second expired token, a second domain move: nothing happened, try again later
    return Retry(str(error), getattr(error, "retry_at", None))
