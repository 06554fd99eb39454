"""REST limits of contract §4, switchable at run time.

- Request rate: a leaky bucket per portal. Each request adds 1; the level drains by `drain` per
  second; a request that would push it over `burst` is refused with 503 QUERY_LIMIT_EXCEEDED.
- Operating time: execution time per (app or webhook, method) summed over 10 one-minute buckets,
  each living 10 minutes from its first call; once the sum exceeds the limit, the next call of that
  method is refused with 429 OPERATION_TIME_LIMIT.
Both read the sandbox clock, so advancing it drains buckets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from b24sandbox.clock import Clock

# contract §4: (burst X, drain Y per second) per plan
RATE_PRESETS: dict[str, tuple[int, float] | None] = {"off": None, "50/2": (50, 2.0), "250/5": (250, 5.0)}
BUCKET_SECONDS = 60
WINDOW_SECONDS = 600  # contract §4: 10 one-minute buckets


class LeakyBucket:
    """The per-portal request-rate bucket."""

    def __init__(self, burst: int, drain: float) -> None:
        self.burst = burst
        self.drain = drain
        self.level = 0.0
        self._last: float | None = None

    def take(self, now: float) -> bool:
        """Count one request; False when it must be refused (the refused request is not counted)."""
        if self._last is not None:
            self.level = max(0.0, self.level - (now - self._last) * self.drain)
        self._last = now
        if self.level + 1 > self.burst:
            return False
        self.level += 1
        return True


@dataclass(frozen=True)
class OperatingState:
    """What `time.operating` / `time.operating_reset_at` report (contract §2.2)."""

    operating: float
    reset_at: int


class OperatingLimiter:
    """Execution time per (caller, method) in one-minute buckets."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self._buckets: dict[tuple[str, str], dict[int, float]] = {}

    def _live(self, key: tuple[str, str], now: float) -> dict[int, float]:
        buckets = self._buckets.setdefault(key, {})
        for start in [s for s in buckets if s + WINDOW_SECONDS <= now]:
            del buckets[start]
        return buckets

    def state(self, caller: str, method: str, now: float) -> OperatingState:
        """Accumulated time and when the oldest live bucket expires."""
        buckets = self._live((caller, method), now)
        oldest = min(buckets, default=int(now // BUCKET_SECONDS) * BUCKET_SECONDS)
        return OperatingState(sum(buckets.values()), oldest + WINDOW_SECONDS)

    def blocked(self, caller: str, method: str, now: float) -> bool:
        """True when the accumulated time already exceeds the limit."""
        return self.state(caller, method, now).operating > self.limit

    def add(self, caller: str, method: str, seconds: float, now: float) -> None:
        """Charge `seconds` of execution to the current bucket."""
        buckets = self._live((caller, method), now)
        start = int(now // BUCKET_SECONDS) * BUCKET_SECONDS
        buckets[start] = buckets.get(start, 0.0) + seconds


class Limits:
    """The switchable limits of one portal."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.rate = "off"
        self.bucket: LeakyBucket | None = None
        self.operating: OperatingLimiter | None = None

    def set_rate(self, preset: str) -> None:
        """Switch the leaky bucket: "off", "50/2", "250/5" or any "<burst>/<drain>"."""
        if preset in RATE_PRESETS:
            params = RATE_PRESETS[preset]
        else:
            burst, sep, drain = preset.partition("/")
            try:
                params = (int(burst), float(drain))
            except ValueError:
                params = None
            if not sep or params is None or params[0] < 1 or params[1] < 0:
                raise ValueError(f"unknown rate preset {preset!r}; use off, 50/2, 250/5 or <burst>/<drain>")
        self.rate = preset
        self.bucket = LeakyBucket(*params) if params else None

    def set_operating_limit(self, seconds: float | None) -> None:
        """Enable the operating-time limiter with `seconds`, or disable it with None."""
        if seconds is not None and seconds < 0:
            raise ValueError("operating limit must be >= 0")
        self.operating = OperatingLimiter(seconds) if seconds is not None else None

    def as_dict(self) -> dict[str, Any]:
        """The current settings as the control API shows them."""
        return {
            "rate": self.rate,
            "bucket_level": round(self.bucket.level, 3) if self.bucket else None,
            "operating_limit": self.operating.limit if self.operating else None,
        }
