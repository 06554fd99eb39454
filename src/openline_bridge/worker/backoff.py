"""Capped exponential backoff with jitter, honouring a retry time the portal announced."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

__all__ = ["next_attempt_at", "retry_delay"]


def retry_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    "Equal jitter": half of the capped exponential step is fixed, half random, so retries of many jobs
    spread out but none comes back almost at once.
    """
    step = min(cap, base * 2.0 ** max(0, attempt - 1))
    return step / 2 + rng.uniform(0, step / 2)


def next_attempt_at(
    attempt: int,
    now: datetime,
    *,
    base: float,
    cap: float,
    rng: random.Random,
    retry_at: float | None = None,
) -> datetime:
    """When to try again: the backoff delay, but never before ``retry_at`` (unix seconds) if given."""
    due = now + timedelta(seconds=retry_delay(attempt, base=base, cap=cap, rng=rng))
    if retry_at is not None:
        due = max(due, datetime.fromtimestamp(retry_at, UTC))
    return due
