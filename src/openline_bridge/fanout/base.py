"""The fan-out interface and the per-process subscriber registry both implementations share.

A subscription is opened before the subscriber reads its backlog (docs/protocol.md §7.2), so it is an async
context manager: entering it means "subscribed" (for Redis: the server confirmed the SUBSCRIBE). Each
subscriber has a bounded queue; one that falls behind is cut off with :class:`SubscriptionLost` instead of
slowing everybody down; its client reconnects and catches up by ``seq``, which loses nothing.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from openline_bridge.errors import BridgeError

__all__ = ["Fanout", "FanoutError", "LocalSubscribers", "Subscription", "SubscriptionLost"]

DEFAULT_QUEUE_SIZE = 1000


class FanoutError(BridgeError):
    """The fan-out backend failed (e.g. Redis unreachable)."""


class SubscriptionLost(FanoutError):
    """A subscription ended abnormally (slow consumer or backend failure); reconnect and catch up."""


class Subscription:
    """What a subscriber iterates: the event JSON strings published for one conversation, in order.

    Most subscribers are idle live connections, so an idle one holds no queue: the buffer is made when an
    event arrives and dropped once read, and only a waiting reader holds a future.
    """

    def __init__(self, conversation_id: int, queue_size: int) -> None:
        self.conversation_id = conversation_id
        self._queue_size = queue_size
        self._pending: deque[str] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._ended: BaseException | None = None

    def offer(self, event_json: str) -> None:
        """Hand one event over; a full queue ends the subscription (the consumer is too slow)."""
        if self._ended is not None:
            return
        if self._pending is None:
            self._pending = deque()
        if len(self._pending) >= self._queue_size:
            self.end(SubscriptionLost(f"subscriber of conversation {self.conversation_id} fell behind"))
            return
        self._pending.append(event_json)
        self._wake()

    def end(self, reason: BaseException) -> None:
        """Stop the subscription; the iterator raises ``reason`` after the events already queued."""
        if self._ended is not None:
            return
        self._ended = reason
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def __aiter__(self) -> AsyncIterator[str]:
        return self

    async def __anext__(self) -> str:
        while True:
            if self._pending:
                event_json = self._pending.popleft()
                if not self._pending:
                    self._pending = None
                return event_json
            if self._ended is not None:
                raise self._ended  # and again on later calls
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None


class Fanout(Protocol):
    """Publish conversation events and subscribe to them (one channel per conversation)."""

    async def publish(self, conversation_id: int, event_json: str) -> None:
        """Send one serialised event (docs/protocol.md §4.5) to every subscriber of the conversation."""
        ...

    def subscribe(self, conversation_id: int) -> AbstractAsyncContextManager[Subscription]:
        """Subscribed on enter, unsubscribed on exit; iterate the yielded :class:`Subscription`."""
        ...

    async def close(self) -> None:
        """Release the backend; open subscriptions end with :class:`SubscriptionLost`."""
        ...


class LocalSubscribers:
    """This process's subscriptions per conversation; backends deliver what they receive through it."""

    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self._queue_size = queue_size
        self._by_conversation: dict[int, set[Subscription]] = {}

    def add(self, conversation_id: int) -> tuple[Subscription, bool]:
        """A new subscription, and whether it is the conversation's first in this process."""
        subscription = Subscription(conversation_id, self._queue_size)
        subscribers = self._by_conversation.setdefault(conversation_id, set())
        subscribers.add(subscription)
        return subscription, len(subscribers) == 1

    def remove(self, subscription: Subscription) -> bool:
        """Forget a subscription; True if it was the conversation's last in this process."""
        subscribers = self._by_conversation.get(subscription.conversation_id)
        if subscribers is None:
            return False
        subscribers.discard(subscription)
        if subscribers:
            return False
        del self._by_conversation[subscription.conversation_id]
        return True

    def deliver(self, conversation_id: int, event_json: str) -> None:
        """Offer an event to every local subscriber of the conversation."""
        for subscription in list(self._by_conversation.get(conversation_id, ())):
            subscription.offer(event_json)

    def end_all(self, reason: BaseException) -> None:
        """End every subscription (backend closed or failed)."""
        for subscribers in list(self._by_conversation.values()):
            for subscription in list(subscribers):
                subscription.end(reason)

    def conversations(self) -> list[int]:
        """Conversations with at least one local subscriber."""
        return list(self._by_conversation)
