"""In-process fan-out: enough for a single bridge instance (the default without ``OLB_REDIS_URL``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from openline_bridge.fanout.base import DEFAULT_QUEUE_SIZE, LocalSubscribers, Subscription, SubscriptionLost

__all__ = ["MemoryFanout"]


class MemoryFanout:
    """Delivers published events to the subscribers of this process only."""

    def __init__(self, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self._local = LocalSubscribers(queue_size)

    async def publish(self, conversation_id: int, event_json: str) -> None:
        """Deliver to every local subscriber of the conversation (never blocks)."""
        self._local.deliver(conversation_id, event_json)

    @asynccontextmanager
    async def subscribe(self, conversation_id: int) -> AsyncIterator[Subscription]:
        """Subscribed on enter, unsubscribed on exit."""
        subscription, _ = self._local.add(conversation_id)
        try:
            yield subscription
        finally:
            self._local.remove(subscription)

    async def close(self) -> None:
        """End every open subscription."""
        self._local.end_all(SubscriptionLost("fan-out closed"))
