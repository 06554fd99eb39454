"""Redis pub/sub fan-out: every bridge instance publishes to and listens on one channel per conversation.

One pub/sub connection per process carries every subscription of that process; a reader task hands each
message to the local subscribers. A subscription is ready only once Redis confirmed the SUBSCRIBE, so an
event published after the subscriber starts reading its backlog cannot be missed. If the connection
breaks, every local subscription ends with :class:`SubscriptionLost`; clients reconnect and catch up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from openline_bridge.fanout.base import (
    DEFAULT_QUEUE_SIZE,
    FanoutError,
    LocalSubscribers,
    Subscription,
    SubscriptionLost,
)

__all__ = ["RedisFanout"]

SUBSCRIBE_TIMEOUT_SECONDS = 5.0
_POLL_SECONDS = 1.0


class RedisFanout:
    """Fan-out over Redis pub/sub; channels are ``<prefix>conversation:<id>``."""

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "olb:",
        queue_size: int = DEFAULT_QUEUE_SIZE,
        owns_client: bool = False,
    ) -> None:
        self._client = client
        self._owns_client = owns_client
        self._prefix = prefix
        self._local = LocalSubscribers(queue_size)
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ready: dict[int, asyncio.Event] = {}  # conversation -> its SUBSCRIBE was confirmed
        self._confirmations: dict[str, deque[asyncio.Event]] = {}  # channel -> waiting, in command order
        self._active = asyncio.Event()  # set while this process has subscriptions
        self._closed = False

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "olb:", queue_size: int = DEFAULT_QUEUE_SIZE) -> RedisFanout:
        """A fan-out on a new Redis client for ``url`` (closed by :meth:`close`)."""
        return cls(Redis.from_url(url), prefix=prefix, queue_size=queue_size, owns_client=True)

    def _channel(self, conversation_id: int) -> str:
        return f"{self._prefix}conversation:{conversation_id}"

    async def publish(self, conversation_id: int, event_json: str) -> None:
        """Publish to every instance's subscribers of the conversation."""
        try:
            await self._client.publish(self._channel(conversation_id), event_json)
        except (RedisError, OSError) as exc:
            raise FanoutError(f"redis publish failed: {exc}") from exc

    @asynccontextmanager
    async def subscribe(self, conversation_id: int) -> AsyncIterator[Subscription]:
        """Subscribed (confirmed by Redis) on enter, unsubscribed on exit."""
        if self._closed:
            raise FanoutError("fan-out closed")
        subscription, first = self._local.add(conversation_id)
        try:
            if first:
                self._ready[conversation_id] = asyncio.Event()
                await self._send("subscribe", conversation_id)
            await asyncio.wait_for(self._ready[conversation_id].wait(), SUBSCRIBE_TIMEOUT_SECONDS)
        except (TimeoutError, RedisError, OSError) as exc:
            await self._leave(subscription)
            raise FanoutError(f"redis subscribe failed: {exc!r}") from exc
        try:
            yield subscription
        finally:
            await self._leave(subscription)

    async def _leave(self, subscription: Subscription) -> None:
        if not self._local.remove(subscription):
            return
        self._ready.pop(subscription.conversation_id, None)
        with contextlib.suppress(RedisError, OSError):  # a broken connection has dropped it already
            await self._send("unsubscribe", subscription.conversation_id)

    async def _send(self, command: str, conversation_id: int) -> None:
        if self._pubsub is None:
            self._pubsub = self._client.pubsub()
        pubsub = self._pubsub
        channel = self._channel(conversation_id)
        if command == "subscribe":
            self._confirmations.setdefault(channel, deque()).append(self._ready[conversation_id])
            await pubsub.subscribe(channel)
            self._active.set()
        else:
            await pubsub.unsubscribe(channel)
        # started after the first SUBSCRIBE: redis-py has no connection to read from before it
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(pubsub), name="fanout-redis-reader")

    async def _read(self, pubsub: PubSub) -> None:
        try:
            while True:
                if not self._local.conversations():
                    self._active.clear()
                    await self._active.wait()  # idle until someone subscribes again
                message = await pubsub.get_message(ignore_subscribe_messages=False, timeout=_POLL_SECONDS)
                if message is not None:
                    self._dispatch(message)
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError) as exc:
            self._fail(SubscriptionLost(f"redis pub/sub connection lost: {exc}"))

    def _dispatch(self, message: dict[str, Any]) -> None:
        channel = _text(message["channel"])
        kind = message["type"]
        if kind == "message":
            conversation_id = int(channel.rsplit(":", 1)[1])
            self._local.deliver(conversation_id, _text(message["data"]))
        elif kind == "subscribe":
            waiting = self._confirmations.get(channel)
            if waiting:
                waiting.popleft().set()
                if not waiting:
                    del self._confirmations[channel]

    def _fail(self, reason: SubscriptionLost) -> None:
        self._local.end_all(reason)
        self._ready.clear()
        self._confirmations.clear()
        self._pubsub = None

    async def close(self) -> None:
        """End every subscription, stop the reader; close the client too if this fan-out created it."""
        self._closed = True
        self._local.end_all(SubscriptionLost("fan-out closed"))
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
        if self._owns_client:
            await self._client.aclose()


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value
