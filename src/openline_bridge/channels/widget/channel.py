"""The widget channel: conversation events → live frames on one visitor connection (docs/protocol.md §7.2).

The relay publishes every committed Event (§4.5) on the fan-out; this turns them into
``{"type": "event", "event": …}`` frames with fresh attachment URLs and keeps the connection's promise:
strictly increasing ``seq``, no duplicates, no gaps after ``after``. The fan-out is best effort (a publish
may be lost or two may swap), so a gap is filled from the event log before the event that revealed it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from openline_bridge.relay.context import Relay
from openline_bridge.relay.serialize import event_json, with_attachment_urls
from openline_bridge.store.conversation_events import list_events

__all__ = ["WidgetChannel"]

SendFrame = Callable[[dict[str, Any]], Awaitable[None]]
_BACKLOG_PAGE = 500


class WidgetChannel:
    """Writes one conversation's events to one live connection, in ``seq`` order, each exactly once."""

    def __init__(self, relay: Relay, conversation_id: int, after: int, send: SendFrame) -> None:
        self._relay = relay
        self._conversation_id = conversation_id
        self._send = send
        self.sent_seq = after

    async def catch_up(self) -> None:
        """Send every stored event after the last one sent (the backlog, or a gap left by the fan-out)."""
        while True:
            async with self._relay.database.read() as session:
                page = await list_events(
                    session, self._conversation_id, after=self.sent_seq, limit=_BACKLOG_PAGE
                )
            for event in page:
                await self._write(event_json(event))
            if len(page) < _BACKLOG_PAGE:
                return

    async def publish(self, event_text: str) -> None:
        """One event as published on the fan-out: dropped if already sent, preceded by any missing ones."""
        event: dict[str, Any] = orjson.loads(event_text)
        seq = event["seq"]
        if seq <= self.sent_seq:
            return
        if seq > self.sent_seq + 1:
            await self.catch_up()
        if seq > self.sent_seq:
            await self._write(event)

    async def _write(self, event: dict[str, Any]) -> None:
        signed = with_attachment_urls(event, self._relay.signer.visitor_url)
        await self._send({"type": "event", "event": signed})
        self.sent_seq = event["seq"]
