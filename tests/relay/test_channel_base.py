"""The channel interface: each conversation event reaches the matching channel method."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openline_bridge.channels.base import ChannelConversation, EventChannel


class RecordingChannel:
    """A channel that writes down what it was asked to do."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, int]] = []

    async def deliver(self, conversation: ChannelConversation, message: dict[str, Any], seq: int) -> None:
        self.calls.append(("deliver", message["id"], seq))

    async def update(self, conversation: ChannelConversation, message: dict[str, Any], seq: int) -> None:
        self.calls.append(("update", message["id"], seq))

    async def delete(self, conversation: ChannelConversation, message: dict[str, Any], seq: int) -> None:
        self.calls.append(("delete", message["id"], seq))

    async def receipts(
        self, conversation: ChannelConversation, statuses: Sequence[dict[str, Any]], seq: int
    ) -> None:
        self.calls.append(("receipts", list(statuses), seq))


async def test_events_are_routed_to_channel_methods() -> None:
    channel = RecordingChannel()
    router = EventChannel(channel)
    where = ChannelConversation(conversation_id=1, visitor_id=2, widget_id=3)
    message = {"id": "9"}
    for seq, kind, payload in [
        (1, "message.created", {"message": message}),
        (2, "message.edited", {"message": message}),
        (3, "message.status", {"message_id": "9", "status": "sent", "failure": None}),
        (4, "message.deleted", {"message": message}),
        (5, "conversation.read", {"read_seq": 4}),
        (6, "session.opened", {}),
    ]:
        await router.dispatch(where, {"seq": seq, "kind": kind, "at": "x", "payload": payload})
    assert channel.calls == [
        ("deliver", "9", 1),
        ("update", "9", 2),
        ("receipts", [{"message_id": "9", "status": "sent", "failure": None}], 3),
        ("delete", "9", 4),
        ("receipts", [{"read_seq": 4}], 5),
    ]
