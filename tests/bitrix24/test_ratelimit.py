"""The per-portal leaky bucket, in process and in Redis, against a model of Bitrix24's own (§4)."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis
from tests.bitrix24.conftest import FakeClock

from openline_bridge.bitrix24.ratelimit import (
    PRESETS,
    LocalLeakyBucket,
    RateLimit,
    RedisLeakyBucket,
    Unlimited,
    build_limiter,
    limiter_for_preset,
)

STANDARD = RateLimit(50, 2.0)


class PortalBucket:
    """Bitrix24's bucket as contract §4 describes it: +1 per request, reject above X, drain Y/s."""

    def __init__(self, limit: RateLimit, clock: FakeClock) -> None:
        self.limit = limit
        self.clock = clock
        self.level = 0.0
        self.at = clock()
        self.rejected = 0

    def request(self) -> None:
        now = self.clock()
        self.level = max(0.0, self.level - (now - self.at) * self.limit.drain_per_second)
        self.at = now
        if self.level + 1 > self.limit.burst:
            self.rejected += 1
        else:
            self.level += 1


async def test_presets() -> None:
    assert PRESETS["standard"] == RateLimit(50, 2.0)
    assert PRESETS["enterprise"] == RateLimit(250, 5.0)
    assert PRESETS["off"] is None
    assert isinstance(limiter_for_preset("off"), Unlimited)
    assert isinstance(limiter_for_preset("standard"), LocalLeakyBucket)
    assert isinstance(build_limiter(RateLimit(10, 1.0)), LocalLeakyBucket)
    assert isinstance(build_limiter(None), Unlimited)
    with pytest.raises(ValueError, match="unknown"):
        limiter_for_preset("gold")
    with pytest.raises(ValueError):
        RateLimit(0, 2.0)


async def test_burst_then_drain_rate(fake_clock: FakeClock) -> None:
    bucket = LocalLeakyBucket(STANDARD, clock=fake_clock, sleep=fake_clock.sleep)
    started = fake_clock()
    for _ in range(49):
        await bucket.acquire("portal")
    assert fake_clock() == started  # the burst (less one request of headroom) passes at once
    for _ in range(20):
        await bucket.acquire("portal")
    assert fake_clock() - started == pytest.approx(10.0)  # then 2 per second


@pytest.mark.parametrize("limit", [RateLimit(50, 2.0), RateLimit(250, 5.0)])
async def test_never_exceeds_the_portal_bucket(fake_clock: FakeClock, limit: RateLimit) -> None:
    bucket = LocalLeakyBucket(limit, clock=fake_clock, sleep=fake_clock.sleep)
    portal = PortalBucket(limit, fake_clock)
    for index in range(600):
        await bucket.acquire("portal")
        portal.request()
        if index % 97 == 0:
            await fake_clock.sleep(3.3)  # idle gaps let the bucket drain
    assert portal.rejected == 0


async def test_portals_are_independent(fake_clock: FakeClock) -> None:
    bucket = LocalLeakyBucket(STANDARD, clock=fake_clock, sleep=fake_clock.sleep)
    for _ in range(49):
        assert bucket.reserve("a") == 0
    assert bucket.reserve("b") == 0
    assert bucket.reserve("a") == pytest.approx(0.5)


async def test_limit_exceeded_fills_the_bucket(fake_clock: FakeClock) -> None:
    bucket = LocalLeakyBucket(STANDARD, clock=fake_clock, sleep=fake_clock.sleep)
    assert bucket.reserve("portal") == 0
    await bucket.note_limit_exceeded("portal")
    assert bucket.reserve("portal") == pytest.approx(1.0)
    assert bucket.reserve("portal") == pytest.approx(1.5)


async def test_waiters_are_served_first_come_first_served() -> None:
    # Virtual time runs 200x faster than the wall clock, so 5 s of queue takes 25 ms.
    bucket = LocalLeakyBucket(
        STANDARD, clock=lambda: time.monotonic() * 200, sleep=lambda seconds: asyncio.sleep(seconds / 200)
    )
    finished: list[int] = []

    async def caller(number: int) -> None:
        await bucket.acquire("portal")
        finished.append(number)

    async with asyncio.timeout(10):
        await asyncio.gather(*(caller(number) for number in range(60)))
    assert finished[49:] == list(range(49, 60))


@pytest.mark.redis
async def test_redis_bucket_is_shared_between_processes(
    fake_clock: FakeClock, redis_prefix: tuple[Redis, str]
) -> None:
    client, prefix = redis_prefix
    first = RedisLeakyBucket(client, STANDARD, key_prefix=prefix, clock=fake_clock, sleep=fake_clock.sleep)
    second = RedisLeakyBucket(client, STANDARD, key_prefix=prefix, clock=fake_clock, sleep=fake_clock.sleep)
    delays = [await (first if n % 2 else second).reserve("portal") for n in range(60)]
    assert delays[:49] == [0.0] * 49
    assert delays[49:] == pytest.approx([0.5 * n for n in range(1, 12)])
    assert await first.reserve("other-portal") == 0.0


@pytest.mark.redis
async def test_redis_bucket_drains_and_fills(fake_clock: FakeClock, redis_prefix: tuple[Redis, str]) -> None:
    client, prefix = redis_prefix
    bucket = RedisLeakyBucket(client, STANDARD, key_prefix=prefix, clock=fake_clock, sleep=fake_clock.sleep)
    portal = PortalBucket(STANDARD, fake_clock)
    for _ in range(120):
        await bucket.acquire("portal")
        portal.request()
    assert portal.rejected == 0
    assert fake_clock.now - 1_000_000.0 == pytest.approx(35.5)  # (120 - 49) / 2
    await fake_clock.sleep(100)  # drained completely
    assert await bucket.reserve("portal") == 0.0
    await bucket.note_limit_exceeded("portal")
    assert await bucket.reserve("portal") == pytest.approx(1.0)
    ttl = await client.ttl(f"{prefix}portal")
    assert 0 < ttl <= 85
