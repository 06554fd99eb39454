"""The widget channel: conversation events → live frames on one visitor connection (docs/protocol.md §7.2).

The widget's protocol forwards every event as it is, ``{"type": "event", "event": …}``, with fresh signed
URLs for the message's attachments; so each :class:`~openline_bridge.channels.base.Channel` method writes
the event it came from. Order and exactly-once are the feed's (:mod:`openline_bridge.channels.feed`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from openline_bridge.channels.base import ChannelConversation, ChannelEvent
from openline_bridge.relay.files import FileSigner
from openline_bridge.relay.serialize import with_attachment_urls

__all__ = ["WidgetChannel"]

SendFrame = Callable[[dict[str, Any]], Awaitable[None]]


class WidgetChannel:
    """Writes the events of a visitor's conversation to one live connection."""

    def __init__(self, signer: FileSigner, send: SendFrame) -> None:
        self._signer = signer
        self._send = send

    async def deliver(
        self, conversation: ChannelConversation, message: dict[str, Any], event: ChannelEvent
    ) -> None:
        """A new message: its ``message.created`` event."""
        await self._write(event)

    async def update(
        self, conversation: ChannelConversation, message: dict[str, Any], event: ChannelEvent
    ) -> None:
        """An edited message: its ``message.edited`` event."""
        await self._write(event)

    async def delete(
        self, conversation: ChannelConversation, message: dict[str, Any], event: ChannelEvent
    ) -> None:
        """A deleted message: its ``message.deleted`` event."""
        await self._write(event)

    async def receipts(
        self, conversation: ChannelConversation, statuses: Sequence[dict[str, Any]], event: ChannelEvent
    ) -> None:
        """A status or the read position: its ``message.status`` or ``conversation.read`` event."""
        await self._write(event)

    async def session(self, conversation: ChannelConversation, event: ChannelEvent) -> None:
        """An operator session opened or closed: its event."""
        await self._write(event)

    async def _write(self, event: ChannelEvent) -> None:
        await self._send(
            {"type": "event", "event": with_attachment_urls(event.as_json(), self._signer.visitor_url)}
        )
