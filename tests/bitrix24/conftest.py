"""Fixtures of the Bitrix24 layer tests: a Redis key prefix per test, a controllable clock."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis


class FakeClock:
    """A clock that only moves when someone sleeps on it (one sleeper at a time)."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    """A fresh fake clock."""
    return FakeClock()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[tuple[Redis, str]]:
    """A Redis client and a key prefix private to this test; the keys are deleted afterwards."""
    prefix = f"test:h4:{secrets.token_hex(6)}:"
    async with Redis.from_url("redis://127.0.0.1:6379/0") as client:
        try:
            yield client, prefix
        finally:
            keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
            if keys:
                await client.delete(*keys)
