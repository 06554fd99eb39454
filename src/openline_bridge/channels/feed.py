"""One conversation's events for one channel: in ``seq`` order, each exactly once (docs/protocol.md §7.2).

The relay publishes every committed event on the fan-out, which is best effort: a publish may be lost or
two may swap. :class:`ConversationFeed` keeps the promise a channel's client relies on anyway: strictly
increasing ``seq``, no duplicates, no gaps after ``after``. A gap is filled from the conversation's log
before the event that revealed it; each event goes to the channel through :class:`EventChannel`.
"""

from __future__ import annotations

from typing import Any

import orjson

from openline_bridge.channels.base import Channel, ChannelConversation, ChannelEvent, EventChannel
from openline_bridge.relay.serialize import event_json
from openline_bridge.store.conversation_events import list_events
from openline_bridge.store.database import Database

__all__ = ["ConversationFeed"]

_BACKLOG_PAGE = 500


class ConversationFeed:
    """Feeds ``channel`` the events of one conversation after ``after``, in order, each exactly once."""

    def __init__(
        self, database: Database, conversation: ChannelConversation, after: int, channel: Channel
    ) -> None:
        self._database = database
        self._conversation = conversation
        self._events = EventChannel(channel)
        self.sent_seq = after

    async def catch_up(self) -> None:
        """Hand over every stored event after the last one handed (the backlog, or a gap the fan-out left)."""
        while True:
            async with self._database.read() as session:
                page = await list_events(
                    session, self._conversation.conversation_id, after=self.sent_seq, limit=_BACKLOG_PAGE
                )
            for event in page:
                await self._hand(event_json(event))
            if len(page) < _BACKLOG_PAGE:
                return

    async def publish(self, event_text: str) -> None:
        """One event as published on the fan-out: dropped if already handed, preceded by any missing ones."""
        event: dict[str, Any] = orjson.loads(event_text)
        seq = event["seq"]
        if seq <= self.sent_seq:
            return
        if seq > self.sent_seq + 1:
            await self.catch_up()
        if seq > self.sent_seq:
            await self._hand(event)

    async def _hand(self, event: dict[str, Any]) -> None:
        await self._events.dispatch(self._conversation, ChannelEvent.from_json(event))
        self.sent_seq = event["seq"]
