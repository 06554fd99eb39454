"""Rate limits (protocol §2.4): buckets per visitor and per IP, `429 rate_limited` and `Retry-After`."""

from __future__ import annotations

import dataclasses
import secrets

import pytest
from redis.asyncio import Redis
from tests.protocol.conftest import Bridge

from openline_bridge.channels.widget.ratelimit import (
    Bucket,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
)


async def test_message_writes_are_limited_per_visitor_not_per_ip(bridge: Bridge) -> None:
    bridge.api.limits = dataclasses.replace(bridge.api.limits, message_writes=Bucket("write", 3, 0.01))
    anna, boris = await bridge.visitor(), await bridge.visitor()
    for n in range(3):
        assert (await anna.send("hi", f"c-{n}")).status_code == 201
    refused = await anna.send("one too many", "c-3")
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "rate_limited"
    assert refused.headers["retry-after"] == str(error["retry_after"])
    assert error["retry_after"] >= 1
    # same IP, another visitor: not throttled by Anna
    assert (await boris.send("hi", "c-0")).status_code == 201
    # reads use another bucket
    assert (await anna.request("GET", "events")).status_code == 200


async def test_session_creation_is_limited_per_ip(bridge: Bridge) -> None:
    bridge.api.limits = dataclasses.replace(bridge.api.limits, sessions_per_ip=Bucket("session", 2, 0.01))
    assert (await bridge.session()).status_code == 201
    assert (await bridge.session()).status_code == 201
    refused = await bridge.session()
    assert (refused.status_code, refused.json()["error"]["code"]) == (429, "rate_limited")
    assert int(refused.headers["retry-after"]) >= 1


class FakeClock:
    """A settable clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _exercise(limiter: RateLimiter, clock: FakeClock) -> None:
    bucket = Bucket("test", 2, 0.5)
    assert await limiter.take(bucket, "k") is None
    assert await limiter.take(bucket, "k") is None
    assert await limiter.take(bucket, "k") == 2  # one token back after 2 s
    assert await limiter.take(bucket, "other") is None
    clock.now += 2.0
    assert await limiter.take(bucket, "k") is None
    assert await limiter.take(bucket, "k") is not None


async def test_memory_bucket_refills_steadily() -> None:
    clock = FakeClock()
    await _exercise(MemoryRateLimiter(clock=clock), clock)


@pytest.mark.redis
async def test_redis_bucket_is_shared_between_instances() -> None:
    clock = FakeClock()
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    prefix = f"olb-test-{secrets.token_hex(6)}:"
    try:
        await _exercise(RedisRateLimiter(redis, prefix=prefix, clock=clock), clock)
        first, second = (RedisRateLimiter(redis, prefix=prefix + "x:", clock=clock) for _ in range(2))
        bucket = Bucket("shared", 1, 0.1)
        assert await first.take(bucket, "k") is None
        assert await second.take(bucket, "k") == 10
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
