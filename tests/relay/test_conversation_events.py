"""The conversation event log: dense seq under concurrency, catch-up reads, publish only after commit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest
from tests.relay.conftest import Chat

from openline_bridge.errors import NotFoundError
from openline_bridge.fanout.memory import MemoryFanout
from openline_bridge.relay.context import Relay
from openline_bridge.store.conversation_events import append_event, last_seq, list_events
from openline_bridge.store.database import Database


async def test_concurrent_appends_get_dense_seq(database: Database, chat: Chat) -> None:
    async def append(n: int) -> int:
        async with database.transaction() as session:
            return await append_event(session, chat.conversation_id, "conversation.read", {"read_seq": n})

    seqs = await asyncio.gather(*(append(n) for n in range(40)))
    assert sorted(seqs) == list(range(1, 41))
    async with database.transaction() as session:
        events = await list_events(session, chat.conversation_id, after=0, limit=500)
        assert [e.seq for e in events] == list(range(1, 41))
        assert await last_seq(session, chat.conversation_id) == 40


async def test_appends_from_separate_engines_stay_dense(
    open_database: Callable[[], Awaitable[Database]], chat: Chat
) -> None:
    engines = [await open_database() for _ in range(3)]  # like three bridge processes

    async def append(database: Database) -> list[int]:
        seqs = []
        for _ in range(10):
            async with database.transaction() as session:
                seqs.append(await append_event(session, chat.conversation_id, "session.opened", {}))
        return seqs

    results = await asyncio.gather(*(append(db) for db in engines))
    assert sorted(s for seqs in results for s in seqs) == list(range(1, 31))


async def _append_then_fail(transaction: Any, conversation_id: int) -> None:
    async with transaction as session:
        await append_event(session, conversation_id, "session.opened", {})
        raise RuntimeError("rolled back")


async def test_rolled_back_append_gives_its_number_back(database: Database, chat: Chat) -> None:
    with pytest.raises(RuntimeError):
        await _append_then_fail(database.transaction(), chat.conversation_id)
    async with database.transaction() as session:
        assert await append_event(session, chat.conversation_id, "session.closed", {}) == 1


async def test_list_events_pages_after_seq(database: Database, chat: Chat) -> None:
    async with database.transaction() as session:
        for _ in range(5):
            await append_event(session, chat.conversation_id, "session.opened", {})
    async with database.transaction() as session:
        page = await list_events(session, chat.conversation_id, after=2, limit=2)
        assert [e.seq for e in page] == [3, 4]
        assert await list_events(session, chat.conversation_id, after=9) == []


async def test_unknown_kind_and_conversation_are_refused(database: Database, chat: Chat) -> None:
    async with database.transaction() as session:
        with pytest.raises(ValueError, match="unknown conversation event kind"):
            await append_event(session, chat.conversation_id, "message.exploded", {})
    with pytest.raises(NotFoundError):
        async with database.transaction() as session:
            await append_event(session, chat.conversation_id + 999, "session.opened", {})


async def test_notifier_publishes_after_commit_only(relay: Relay, fanout: MemoryFanout, chat: Chat) -> None:
    async with fanout.subscribe(chat.conversation_id) as subscription:
        with pytest.raises(RuntimeError):
            await _append_then_fail(relay.notifier.transaction(relay.database), chat.conversation_id)
        async with relay.notifier.transaction(relay.database) as session:
            await append_event(session, chat.conversation_id, "session.closed", {})
        received = await asyncio.wait_for(anext(subscription), 2)
    event = orjson.loads(received)
    assert event["seq"] == 1 and event["kind"] == "session.closed" and event["payload"] == {}
    assert event["at"].endswith("Z")
