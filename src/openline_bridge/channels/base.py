"""The channel interface: how a visitor-facing surface receives a conversation without the relay knowing
which surface it is.

The relay writes every change of a conversation as an Event (docs/protocol.md §4.5) to the conversation's
log and publishes it after the commit. A channel (the website widget today; an HTTP API with webhooks
later) receives those events through a :class:`~openline_bridge.channels.feed.ConversationFeed`, which
keeps them in ``seq`` order, each exactly once, and hands each to the matching :class:`Channel` method
(:class:`EventChannel`). Live delivery is best effort because every channel's clients catch up from the
log by ``seq`` (docs/protocol.md §7.2), so a channel method must not raise for an offline visitor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Channel", "ChannelConversation", "ChannelEvent", "EventChannel"]


@dataclass(frozen=True)
class ChannelConversation:
    """Which conversation an event belongs to, as a channel needs to route it."""

    conversation_id: int
    visitor_id: int
    widget_id: int


@dataclass(frozen=True)
class ChannelEvent:
    """One event of a conversation's log (protocol §4.5)."""

    seq: int
    kind: str
    at: str
    payload: dict[str, Any]

    @classmethod
    def from_json(cls, event: dict[str, Any]) -> ChannelEvent:
        """The event of an Event object."""
        return cls(event["seq"], event["kind"], event["at"], event["payload"])

    def as_json(self) -> dict[str, Any]:
        """The Event object."""
        return {"seq": self.seq, "kind": self.kind, "at": self.at, "payload": self.payload}


class Channel(Protocol):
    """A visitor-facing surface. Messages are protocol Message objects (§4.1); ``event`` is the event each
    call comes from, for a channel that forwards events as they are."""

    async def deliver(
        self, conversation: ChannelConversation, message: dict[str, Any], event: ChannelEvent
    ) -> None:
        """A new message (either direction) for the visitor's clients."""
        ...

    async def update(
        self, conversation: ChannelConversation, message: dict[str, Any], event: ChannelEvent
    ) -> None:
        """A message's text or attachments changed."""
        ...

    async def delete(
        self, conversation: ChannelConversation, message: dict[str, Any], event: ChannelEvent
    ) -> None:
        """A message was deleted."""
        ...

    async def receipts(
        self, conversation: ChannelConversation, statuses: Sequence[dict[str, Any]], event: ChannelEvent
    ) -> None:
        """Message statuses changed (``message.status`` payloads) or the read position moved."""
        ...

    async def session(self, conversation: ChannelConversation, event: ChannelEvent) -> None:
        """An operator session opened or closed (``session.opened``, ``session.closed``)."""
        ...


class EventChannel:
    """Routes each conversation event to the matching :class:`Channel` method."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    async def dispatch(self, conversation: ChannelConversation, event: ChannelEvent) -> None:
        """Call the method of ``event``'s kind; ``ValueError`` for a kind the protocol does not have."""
        kind, payload = event.kind, event.payload
        if kind == "message.created":
            await self._channel.deliver(conversation, payload["message"], event)
        elif kind == "message.edited":
            await self._channel.update(conversation, payload["message"], event)
        elif kind == "message.deleted":
            await self._channel.delete(conversation, payload["message"], event)
        elif kind in ("message.status", "conversation.read"):
            await self._channel.receipts(conversation, [payload], event)
        elif kind in ("session.opened", "session.closed"):
            await self._channel.session(conversation, event)
        else:
            raise ValueError(f"unknown conversation event kind {kind!r}")
