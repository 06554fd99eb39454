"""Backoff: capped, exponential, jittered, never before the portal's announced reset time."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from openline_bridge.worker.backoff import next_attempt_at, retry_delay


def test_delay_grows_exponentially_within_jitter_and_is_capped() -> None:
    rng = random.Random(7)
    for attempt, step in [(1, 2.0), (2, 4.0), (3, 8.0), (10, 300.0), (40, 300.0)]:
        delays = [retry_delay(attempt, base=2.0, cap=300.0, rng=rng) for _ in range(200)]
        assert all(step / 2 <= delay <= step for delay in delays)
        assert max(delays) - min(delays) > step / 4  # jittered, not all the same


def test_next_attempt_honours_the_reset_time() -> None:
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    rng = random.Random(1)
    reset = (now + timedelta(minutes=5)).timestamp()
    assert next_attempt_at(1, now, base=2.0, cap=300.0, rng=rng, retry_at=reset) == now + timedelta(minutes=5)
    soon = next_attempt_at(1, now, base=2.0, cap=300.0, rng=rng, retry_at=now.timestamp() - 60)
    assert now + timedelta(seconds=1) <= soon <= now + timedelta(seconds=2)
