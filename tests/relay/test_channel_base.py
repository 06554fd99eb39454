"""The channel interface: each conversation event reaches the matching channel method, through a feed that
keeps ``seq`` order and hands each event once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import pytest
from tests.relay.conftest import Chat

from openline_bridge.channels.base import ChannelConversation, ChannelEvent, EventChannel
from openline_bridge.channels.feed import ConversationFeed
from openline_bridge.relay.context import Relay
from openline_bridge.relay.visitor_inbound import accept_message
from openline_bridge.store.conversation_events import EVENT_KINDS

WHERE = ChannelConversation(conversation_id=1, visitor_id=2, widget_id=3)


class RecordingChannel:
    """A channel that writes down what it was asked to do."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, int]] = []

    async def deliver(
        self, conversation: ChannelConversation, message: dict[str, Any], event: ChannelEvent
    ) -> None:
        self.calls.append(("deliver", message["id"], event.seq))

    async def update(
        self, conversation: ChannelConversation, message: dict[str, Any], event: ChannelEvent
    ) -> None:
        self.calls.append(("update", message["id"], event.seq))

    async def delete(
        self, conversation: ChannelConversation, message: dict[str, Any], event: ChannelEvent
    ) -> None:
        self.calls.append(("delete", message["id"], event.seq))

    async def receipts(
        self, conversation: ChannelConversation, statuses: Sequence[dict[str, Any]], event: ChannelEvent
    ) -> None:
        self.calls.append(("receipts", list(statuses), event.seq))

    async def session(self, conversation: ChannelConversation, event: ChannelEvent) -> None:
        self.calls.append(("session", event.kind, event.seq))


def _event(seq: int, kind: str, payload: dict[str, Any]) -> ChannelEvent:
    return ChannelEvent(seq, kind, "2026-12-04T12:00:00.000Z", payload)


async def test_every_event_kind_reaches_its_channel_method() -> None:
    channel = RecordingChannel()
    router = EventChannel(channel)
    message = {"id": "9"}
    events = [
        _event(1, "message.created", {"message": message}),
        _event(2, "message.edited", {"message": message}),
        _event(3, "message.status", {"message_id": "9", "status": "sent", "failure": None}),
        _event(4, "message.deleted", {"message": message}),
        _event(5, "conversation.read", {"read_seq": 4}),
        _event(6, "session.opened", {}),
        _event(7, "session.closed", {}),
    ]
    assert {event.kind for event in events} == EVENT_KINDS  # the protocol has no other kind
    for event in events:
        await router.dispatch(WHERE, event)
    assert channel.calls == [
        ("deliver", "9", 1),
        ("update", "9", 2),
        ("receipts", [{"message_id": "9", "status": "sent", "failure": None}], 3),
        ("delete", "9", 4),
        ("receipts", [{"read_seq": 4}], 5),
        ("session", "session.opened", 6),
        ("session", "session.closed", 7),
    ]
    with pytest.raises(ValueError, match="unknown conversation event kind"):
        await router.dispatch(WHERE, _event(8, "message.exploded", {}))


async def test_the_feed_hands_each_event_once_in_order_filling_gaps_from_the_log(
    relay: Relay, chat: Chat
) -> None:
    posted = [
        await accept_message(relay, chat.conversation_id, f"c-{n}", f"message {n}") for n in range(1, 6)
    ]
    seqs = [message.seq for message in posted]
    assert seqs == [1, 2, 3, 4, 5]
    channel = RecordingChannel()
    where = ChannelConversation(chat.conversation_id, chat.visitor_id, chat.widget_id)
    feed = ConversationFeed(relay.database, where, 1, channel)

    def published(n: int) -> str:
        message = posted[n - 1]
        event = {
            "seq": message.seq,
            "kind": "message.created",
            "at": "x",
            "payload": {"message": message.message},
        }
        return orjson.dumps(event).decode()

    await feed.publish(published(4))  # 2 and 3 were never published: read from the log first
    await feed.publish(published(3))  # late and already handed
    await feed.publish(published(4))  # a duplicate
    await feed.publish(published(5))
    assert [(call[0], call[2]) for call in channel.calls] == [("deliver", seq) for seq in (2, 3, 4, 5)]
    assert feed.sent_seq == 5
