"""Client-side leaky bucket per portal, mirroring Bitrix24's own (contract §4, pitfall P26).

Bitrix24 counts +1 per request, drains the counter by ``drain_per_second`` and rejects a request with
503 ``QUERY_LIMIT_EXCEEDED`` once the counter would exceed ``burst``. We keep the same counter locally
and let a request through only when the portal's counter has room, so the portal never has to reject.

Both implementations reserve a slot on arrival and return how long the caller must wait for it: the
counter may run above ``burst`` by the number of waiting callers, which makes the queue fair (first
come, first served) without a lock held across the wait. A cancelled waiter leaves its reservation in
place, which errs on the slow side. ``note_limit_exceeded`` fills the bucket when the portal said we
were over anyway (other clients on the same IP share the budget, §4).

The local counter stops one request short of ``burst`` (``HEADROOM``): running exactly at the
portal's threshold would let float rounding or a little network jitter (two requests arriving closer
together than they were sent) push the portal's counter over it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

__all__ = [
    "PRESETS",
    "LocalLeakyBucket",
    "PortalRateLimiter",
    "RateLimit",
    "RedisLeakyBucket",
    "Unlimited",
    "build_limiter",
    "limiter_for_preset",
]

Clock = Callable[[], float]

HEADROOM = 1.0
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RateLimit:
    """Burst threshold X and drain rate Y of contract §4's table."""

    burst: int
    drain_per_second: float

    def __post_init__(self) -> None:
        if self.burst < 1 or self.drain_per_second <= 0:
            raise ValueError("burst must be >= 1 and drain_per_second > 0")


# contract §4: Enterprise 250/5, every other plan 50/2; `off` for portals without a limiter (sandbox).
PRESETS: dict[str, RateLimit | None] = {
    "standard": RateLimit(50, 2.0),
    "enterprise": RateLimit(250, 5.0),
    "off": None,
}


class PortalRateLimiter(Protocol):
    """What the REST client needs: wait for a slot, and hear about a 503 from the portal."""

    async def acquire(self, member_id: str) -> None:
        """Return once a request to this portal may be sent (first come, first served)."""

    async def note_limit_exceeded(self, member_id: str) -> None:
        """The portal answered ``QUERY_LIMIT_EXCEEDED``: assume its bucket is full."""


class Unlimited:
    """The ``off`` preset: never waits."""

    async def acquire(self, member_id: str) -> None:
        """Return at once."""

    async def note_limit_exceeded(self, member_id: str) -> None:
        """Nothing to adjust."""


@dataclass
class _Bucket:
    level: float
    updated_at: float


class LocalLeakyBucket:
    """In-process buckets, one per portal; enough when one process owns a portal's outbox."""

    def __init__(
        self, limit: RateLimit, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self._limit = limit
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[str, _Bucket] = {}

    async def acquire(self, member_id: str) -> None:
        """Reserve the next slot of this portal and wait until it is due."""
        delay = self.reserve(member_id)
        if delay > 0:
            await self._sleep(delay)

    def reserve(self, member_id: str) -> float:
        """Count one request now and return the seconds until it may be sent."""
        bucket = self._drained(member_id)
        bucket.level += 1
        return max(0.0, (bucket.level - _threshold(self._limit)) / self._limit.drain_per_second)

    async def note_limit_exceeded(self, member_id: str) -> None:
        """Fill the bucket to the threshold (reservations already above it stay)."""
        bucket = self._drained(member_id)
        bucket.level = max(bucket.level, float(self._limit.burst))

    def _drained(self, member_id: str) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.setdefault(member_id, _Bucket(0.0, now))
        elapsed = max(0.0, now - bucket.updated_at)
        bucket.level = max(0.0, bucket.level - elapsed * self._limit.drain_per_second)
        bucket.updated_at = now
        return bucket


def _threshold(limit: RateLimit) -> float:
    return max(1.0, limit.burst - HEADROOM)


# KEYS[1] bucket hash; ARGV: now, burst, drain per second, mode (1 reserve, 0 fill), ttl seconds,
# threshold (burst minus headroom).
# Returns the delay in seconds as a string (Redis truncates Lua numbers to integers).
_LEAKY_BUCKET_LUA = """
local now = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local drain = tonumber(ARGV[3])
local level = tonumber(redis.call('HGET', KEYS[1], 'level') or '0')
local updated = tonumber(redis.call('HGET', KEYS[1], 'updated_at') or ARGV[1])
local elapsed = now - updated
if elapsed < 0 then elapsed = 0 end
level = level - elapsed * drain
if level < 0 then level = 0 end
local delay = 0
if ARGV[4] == '1' then
  level = level + 1
  local threshold = tonumber(ARGV[6])
  if level > threshold then delay = (level - threshold) / drain end
elseif level < burst then
  level = burst
end
redis.call('HSET', KEYS[1], 'level', tostring(level), 'updated_at', ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return tostring(delay)
"""


class RedisLeakyBucket:
    """Buckets in Redis, updated by one atomic script, so several bridge processes share a portal's budget.

    The clock is the callers' wall clock (``time.time``); hosts sharing a Redis should run NTP.
    """

    def __init__(
        self,
        redis: Redis,
        limit: RateLimit,
        *,
        key_prefix: str = "olb:ratelimit:",
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._redis = redis
        self._limit = limit
        self._prefix = key_prefix
        self._clock = clock
        self._sleep = sleep
        self._script = redis.register_script(_LEAKY_BUCKET_LUA)
        # An idle bucket is empty after burst / drain seconds; keep it a little longer, then let it expire.
        self._ttl = int(limit.burst / limit.drain_per_second) + 60

    async def acquire(self, member_id: str) -> None:
        """Reserve the next slot of this portal (shared across processes) and wait until it is due."""
        delay = await self.reserve(member_id)
        if delay > 0:
            await self._sleep(delay)

    async def reserve(self, member_id: str) -> float:
        """Count one request now and return the seconds until it may be sent."""
        return await self._run(member_id, reserve=True)

    async def note_limit_exceeded(self, member_id: str) -> None:
        """Fill the shared bucket to the threshold."""
        await self._run(member_id, reserve=False)

    async def _run(self, member_id: str, *, reserve: bool) -> float:
        result = await self._script(
            keys=[self._prefix + member_id],
            args=[
                repr(self._clock()),
                self._limit.burst,
                repr(self._limit.drain_per_second),
                "1" if reserve else "0",
                self._ttl,
                repr(_threshold(self._limit)),
            ],
        )
        text = result.decode() if isinstance(result, bytes) else str(result)
        return float(text)


def build_limiter(
    limit: RateLimit | None, *, redis: Redis | None = None, key_prefix: str = "olb:ratelimit:"
) -> PortalRateLimiter:
    """The limiter for ``limit`` (``None``: no limit), in Redis when given one, otherwise in process."""
    if limit is None:
        return Unlimited()
    if redis is not None:
        return RedisLeakyBucket(redis, limit, key_prefix=key_prefix)
    return LocalLeakyBucket(limit)


def limiter_for_preset(
    preset: str, *, redis: Redis | None = None, key_prefix: str = "olb:ratelimit:"
) -> PortalRateLimiter:
    """The limiter for a preset name of :data:`PRESETS`."""
    if preset not in PRESETS:
        raise ValueError(f"unknown rate-limit preset {preset!r}; choose one of {sorted(PRESETS)}")
    return build_limiter(PRESETS[preset], redis=redis, key_prefix=key_prefix)
