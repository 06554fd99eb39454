"""Publishing appended conversation events to live subscribers, after the transaction that stored them.

Order of operations matters: publish only after commit, or a subscriber could see an event that a rollback
then erases. A failed publish is logged and dropped: the event is durable and clients catch up by ``seq``
(docs/protocol.md §7.2), so the fan-out is best effort by design.

Usage (worker and relay alike)::

    async with notifier.transaction(database) as session:
        await append_event(session, conversation_id, "message.status", payload)
    # committed, then published
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.fanout.base import Fanout, FanoutError
from openline_bridge.logging import get_logger
from openline_bridge.relay.serialize import event_text
from openline_bridge.store.conversation_events import AppendedEvent, appended_events
from openline_bridge.store.database import Database

__all__ = ["Notifier"]

_log = get_logger(__name__)


class Notifier:
    """Sends committed conversation events to the fan-out."""

    def __init__(self, fanout: Fanout) -> None:
        self.fanout = fanout

    async def publish(self, events: Iterable[AppendedEvent]) -> None:
        """Publish events in order; fan-out failures are logged, never raised (clients catch up by seq)."""
        for event in events:
            try:
                await self.fanout.publish(event.conversation_id, event_text(event))
            except FanoutError as exc:
                _log.warning(
                    "fanout.publish_failed",
                    conversation_id=event.conversation_id,
                    seq=event.seq,
                    error=str(exc),
                )

    @asynccontextmanager
    async def transaction(self, database: Database, *, brief: bool = False) -> AsyncIterator[AsyncSession]:
        """``database.transaction(brief=...)`` that publishes every event appended in it once it has
        committed."""
        async with database.transaction(brief=brief) as session:
            yield session
            events = appended_events(session)
        await self.publish(events)
