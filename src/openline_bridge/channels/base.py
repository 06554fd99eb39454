"""The channel interface: how the relay reaches a visitor-facing surface without knowing which one.

A channel (the website widget today; an HTTP API with webhooks later) receives the conversation's
events and turns them into its own wire form. The relay calls it after the change is committed; live
delivery is best effort because every channel's clients catch up from the event log by ``seq``
(docs/protocol.md §7.2), so a channel method must not raise for an offline visitor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Channel", "ChannelConversation", "EventChannel"]


@dataclass(frozen=True)
class ChannelConversation:
    """Which conversation an event belongs to, as a channel needs to route it."""

    conversation_id: int
    visitor_id: int
    widget_id: int


class Channel(Protocol):
    """A visitor-facing surface. Messages are protocol Message objects (§4.1), events Event objects (§4.5)."""

    async def deliver(self, conversation: ChannelConversation, message: dict[str, Any], seq: int) -> None:
        """A new message (either direction) for the visitor's clients."""
        ...

    async def update(self, conversation: ChannelConversation, message: dict[str, Any], seq: int) -> None:
        """A message's text or attachments changed."""
        ...

    async def delete(self, conversation: ChannelConversation, message: dict[str, Any], seq: int) -> None:
        """A message was deleted."""
        ...

    async def receipts(
        self, conversation: ChannelConversation, statuses: Sequence[dict[str, Any]], seq: int
    ) -> None:
        """Message statuses changed (``message.status`` payloads) or the read position moved."""
        ...


class EventChannel:
    """Routes one conversation event to the matching :class:`Channel` method."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    async def dispatch(self, conversation: ChannelConversation, event: dict[str, Any]) -> None:
        """Call ``deliver``/``update``/``delete``/``receipts`` for an Event; other kinds are ignored."""
        kind, payload, seq = event["kind"], event["payload"], event["seq"]
        if kind == "message.created":
            await self._channel.deliver(conversation, payload["message"], seq)
        elif kind == "message.edited":
            await self._channel.update(conversation, payload["message"], seq)
        elif kind == "message.deleted":
            await self._channel.delete(conversation, payload["message"], seq)
        elif kind in ("message.status", "conversation.read"):
            await self._channel.receipts(conversation, [payload], seq)
