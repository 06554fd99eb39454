"""Group commit of visitor messages on both databases: concurrent messages share transactions, keep a
dense ``seq``, and one failing message neither fails the others nor leaks its rows or events."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from sqlalchemy import event
from tests.relay.conftest import Chat, counts

from openline_bridge.relay import visitor_inbound
from openline_bridge.relay.context import Relay
from openline_bridge.relay.errors import NotFound


async def test_concurrent_messages_share_transactions_with_dense_seq(
    relay: Relay, chat: Chat, collected: list[str]
) -> None:
    begun: list[int] = []

    def on_begin(*_: Any) -> None:
        begun.append(1)

    event.listen(relay.database.engine.sync_engine, "begin", on_begin)
    try:
        posted = await asyncio.gather(
            *(
                visitor_inbound.accept_message(relay, chat.conversation_id, f"m-{n}", f"Hi {n}")
                for n in range(20)
            )
        )
    finally:
        event.remove(relay.database.engine.sync_engine, "begin", on_begin)
    assert sorted(p.seq or 0 for p in posted) == list(range(1, 21))
    assert all(p.created for p in posted)
    assert len(begun) < 20  # calls that arrived while a transaction was in flight joined the next one
    found = await counts(relay.database)
    assert (found.messages, found.events, found.jobs) == (20, 20, 20)
    await asyncio.sleep(0.05)
    assert sorted(orjson.loads(e)["seq"] for e in collected) == list(range(1, 21))


async def test_a_failing_message_does_not_fail_its_batch(
    relay: Relay, chat: Chat, collected: list[str]
) -> None:
    first, failed, last = await asyncio.gather(
        visitor_inbound.accept_message(relay, chat.conversation_id, "a", "first"),
        visitor_inbound.accept_message(relay, chat.conversation_id, "b", "bad file", ["999999"]),
        visitor_inbound.accept_message(relay, chat.conversation_id, "c", "last"),
        return_exceptions=True,
    )
    assert isinstance(failed, NotFound)
    assert not isinstance(first, BaseException) and not isinstance(last, BaseException)
    assert sorted([first.seq or 0, last.seq or 0]) == [1, 2]
    found = await counts(relay.database)
    assert (found.messages, found.events, found.jobs) == (2, 2, 2)
    await asyncio.sleep(0.05)
    published = [orjson.loads(e) for e in collected]
    assert sorted(e["payload"]["message"]["client_message_id"] for e in published) == ["a", "c"]
    assert sorted(e["seq"] for e in published) == [1, 2]


async def test_a_retry_after_a_failed_batch_member_is_stored(relay: Relay, chat: Chat) -> None:
    with pytest.raises(NotFound):
        await visitor_inbound.accept_message(relay, chat.conversation_id, "b", "bad file", ["999999"])
    posted = await visitor_inbound.accept_message(relay, chat.conversation_id, "b", "no file now")
    assert posted.created and posted.seq == 1
