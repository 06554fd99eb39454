"""Rate limits of the visitor API (docs/protocol.md §2.4): token buckets per visitor and per client IP,
and a cap on a visitor's open live connections.

A bucket holds up to ``burst`` tokens and regains ``per_second``; a request takes one token or is refused
with the whole seconds until one is back (``Retry-After``). The per-IP buckets sit about ten times above
one visitor's, so many visitors behind one NAT do not throttle each other.

:class:`MemoryRateLimiter` counts in this process; :class:`RedisRateLimiter` shares the buckets between
bridge instances through one atomic script. The live-connection cap (:class:`LiveSlots`) is per process.

The client IP is the socket peer as the server reports it: behind a reverse proxy, uvicorn's proxy
headers support (``FORWARDED_ALLOW_IPS``, loopback by default) puts the ``X-Forwarded-For`` client
there, so only a declared proxy can name another address.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from openline_bridge.logging import get_logger

__all__ = [
    "Bucket",
    "LiveSlots",
    "MemoryRateLimiter",
    "RateLimiter",
    "RedisRateLimiter",
    "VisitorLimits",
]

_log = get_logger(__name__)

Clock = Callable[[], float]
_MAX_MEMORY_KEYS = 100_000


@dataclass(frozen=True)
class Bucket:
    """A token bucket's shape: ``burst`` requests at once, then ``per_second`` steady."""

    name: str
    burst: int
    per_second: float


@dataclass(frozen=True)
class VisitorLimits:
    """The defaults of protocol §2.4 (a deployment or a test may pass others)."""

    sessions_per_ip: Bucket = field(default_factory=lambda: Bucket("session", 60, 1.0))
    message_writes: Bucket = field(default_factory=lambda: Bucket("write", 20, 1.0))
    uploads: Bucket = field(default_factory=lambda: Bucket("upload", 10, 1 / 6))
    other: Bucket = field(default_factory=lambda: Bucket("other", 60, 2.0))
    per_ip: Bucket = field(default_factory=lambda: Bucket("ip", 600, 20.0))
    live_connections: int = 10


class RateLimiter(Protocol):
    """Take one token from a bucket."""

    async def take(self, bucket: Bucket, key: str) -> int | None:
        """None if allowed, else the whole seconds (≥ 1) until a token is back."""
        ...


def _wait(tokens: float, bucket: Bucket) -> int:
    return max(1, math.ceil((1 - tokens) / bucket.per_second))


class MemoryRateLimiter:
    """Buckets in this process (one bridge instance)."""

    def __init__(self, *, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._levels: dict[tuple[str, str], tuple[float, float]] = {}

    async def take(self, bucket: Bucket, key: str) -> int | None:
        """Take a token of ``bucket`` for ``key``; refused with the seconds to wait."""
        now = self._clock()
        tokens, updated = self._levels.get((bucket.name, key), (float(bucket.burst), now))
        tokens = min(float(bucket.burst), tokens + (now - updated) * bucket.per_second)
        if tokens < 1:
            self._levels[(bucket.name, key)] = (tokens, now)
            return _wait(tokens, bucket)
        if len(self._levels) >= _MAX_MEMORY_KEYS:
            self._levels.clear()  # bounded memory; forgetting buckets only errs on the generous side
        self._levels[(bucket.name, key)] = (tokens - 1, now)
        return None


# KEYS[1] bucket hash; ARGV: now (seconds), burst, per second, ttl seconds.
# Returns -1 when allowed, else the seconds to wait (as a string: Redis truncates Lua numbers).
_TAKE_LUA = """
local now = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local rate = tonumber(ARGV[3])
local tokens = tonumber(redis.call('HGET', KEYS[1], 't') or ARGV[2])
local updated = tonumber(redis.call('HGET', KEYS[1], 'u') or ARGV[1])
local elapsed = now - updated
if elapsed < 0 then elapsed = 0 end
tokens = math.min(burst, tokens + elapsed * rate)
local result = '-1'
if tokens < 1 then
  result = tostring((1 - tokens) / rate)
else
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'u', ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return result
"""


class RedisRateLimiter:
    """Buckets in Redis shared by every bridge instance; falls back to allowing when Redis fails
    (a rate limit must not take the chat down with it)."""

    def __init__(self, redis: Redis, *, prefix: str = "olb:visitor-rl:", clock: Clock = time.time) -> None:
        self._prefix = prefix
        self._clock = clock
        self._script = redis.register_script(_TAKE_LUA)

    async def take(self, bucket: Bucket, key: str) -> int | None:
        """Take a token of ``bucket`` for ``key`` atomically across instances."""
        ttl = math.ceil(bucket.burst / bucket.per_second) + 60  # a full bucket needs no key
        try:
            result = await self._script(
                keys=[f"{self._prefix}{bucket.name}:{key}"],
                args=[repr(self._clock()), bucket.burst, repr(bucket.per_second), ttl],
            )
        except RedisError as exc:
            _log.warning("widget.ratelimit_unavailable", error=str(exc))
            return None
        wait = float(result.decode() if isinstance(result, bytes) else result)
        return None if wait < 0 else max(1, math.ceil(wait))


class LiveSlots:
    """Counts each visitor's open live connections in this process."""

    def __init__(self) -> None:
        self._open: dict[int, int] = {}

    def acquire(self, visitor_id: int, limit: int) -> bool:
        """Count one more connection unless the visitor already has ``limit`` open."""
        current = self._open.get(visitor_id, 0)
        if current >= limit:
            return False
        self._open[visitor_id] = current + 1
        return True

    def release(self, visitor_id: int) -> None:
        """A connection of the visitor closed."""
        remaining = self._open.get(visitor_id, 0) - 1
        if remaining > 0:
            self._open[visitor_id] = remaining
        else:
            self._open.pop(visitor_id, None)
