"""Fan-out on both backends: every subscriber of a conversation gets its events in order, only its own,
subscriptions end cleanly; Redis carries events between two instances (own channel prefix per test)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from openline_bridge.fanout.base import Fanout, Subscription, SubscriptionLost
from openline_bridge.fanout.memory import MemoryFanout
from openline_bridge.fanout.redis import RedisFanout

REDIS_URL = "redis://127.0.0.1:6379/0"
FanoutPair = tuple[Fanout, Fanout]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[FanoutPair]:
    """Two fan-out "instances": the same object for memory, two Redis connections for Redis."""
    if request.param == "memory":
        memory = MemoryFanout()
        yield memory, memory
        await memory.close()
        return
    prefix = f"test:fanout:{secrets.token_hex(6)}:"
    first = RedisFanout.from_url(REDIS_URL, prefix=prefix)
    second = RedisFanout.from_url(REDIS_URL, prefix=prefix)
    yield first, second
    await first.close()
    await second.close()


async def take(subscription: Subscription, count: int) -> list[str]:
    return [await asyncio.wait_for(anext(subscription), 5) for _ in range(count)]


async def test_two_subscribers_receive_events_in_order(pair: FanoutPair) -> None:
    publisher, listener = pair
    async with listener.subscribe(1) as one, listener.subscribe(1) as two, publisher.subscribe(2) as other:
        for n in range(20):
            await publisher.publish(1, f"e{n}")
        await publisher.publish(2, "for-2")
        expected = [f"e{n}" for n in range(20)]
        assert await take(one, 20) == expected
        assert await take(two, 20) == expected
        assert await take(other, 1) == ["for-2"]


async def test_subscribers_on_both_instances(pair: FanoutPair) -> None:
    first, second = pair
    async with first.subscribe(7) as on_first, second.subscribe(7) as on_second:
        await first.publish(7, "from-first")
        await second.publish(7, "from-second")
        assert await take(on_first, 2) == ["from-first", "from-second"]
        assert await take(on_second, 2) == ["from-first", "from-second"]


async def test_unsubscribed_conversation_gets_nothing_and_resubscribe_works(pair: FanoutPair) -> None:
    publisher, listener = pair
    async with listener.subscribe(3) as subscription:
        await publisher.publish(3, "a")
        assert await take(subscription, 1) == ["a"]
    await publisher.publish(3, "lost")  # nobody listens: dropped, and no error
    async with listener.subscribe(3) as again:
        await publisher.publish(3, "b")
        assert await take(again, 1) == ["b"]


async def test_close_ends_open_subscriptions(pair: FanoutPair) -> None:
    _, listener = pair
    async with listener.subscribe(4) as subscription:
        await listener.close()
        with pytest.raises(SubscriptionLost):
            await asyncio.wait_for(anext(subscription), 5)


async def test_slow_subscriber_is_cut_off_not_blocking_others() -> None:
    fanout = MemoryFanout(queue_size=3)
    async with fanout.subscribe(1) as slow, fanout.subscribe(1) as fast:
        for n in range(3):
            await fanout.publish(1, f"e{n}")
            assert await take(fast, 1) == [f"e{n}"]
        await fanout.publish(1, "e3")  # slow has 3 queued already: cut off
        assert await take(fast, 1) == ["e3"]
        with pytest.raises(SubscriptionLost):
            await take(slow, 5)


@pytest.mark.redis
async def test_redis_connection_loss_ends_subscriptions() -> None:
    name = f"test-fanout-{secrets.token_hex(6)}"  # kill only this test's own connection
    fanout = RedisFanout(Redis.from_url(REDIS_URL, client_name=name), prefix=f"{name}:", owns_client=True)
    async with Redis.from_url(REDIS_URL) as admin:
        try:
            async with fanout.subscribe(9) as subscription:
                ours = [c for c in await admin.client_list(_type="pubsub") if c["name"] == name]
                assert len(ours) == 1
                await admin.client_kill_filter(_id=ours[0]["id"])
                with pytest.raises(SubscriptionLost):
                    await asyncio.wait_for(anext(subscription), 5)
        finally:
            await fanout.close()
