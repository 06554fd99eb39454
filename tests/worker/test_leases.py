"""One dispatcher per portal: two workers (separate database engines, as two processes would have) never
own the same portal at once, and the second takes over when the first stops."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from tests.worker.peer import Bridge, wait_until

from openline_bridge.store.database import Database
from openline_bridge.store.models import MessageStatus
from openline_bridge.worker.runner import Worker


async def test_two_workers_never_both_own_a_portal(
    bridge: Bridge, open_database: Callable[[], Awaitable[Database]]
) -> None:
    other = Bridge(**{**bridge.__dict__, "database": await open_database(), "clients": bridge.clients})
    first, second = bridge.worker(), other.worker()
    conversations = [await bridge.new_conversation() for _ in range(3)]
    expected: dict[int, list[str]] = {c: [] for c in conversations}
    overlaps = 0
    async with bridge.running(first), other.running(second):
        for i in range(10):
            for conversation in conversations:
                await bridge.post(conversation, f"{conversation}-{i}")
                expected[conversation].append(f"{conversation}-{i}")
            for _ in range(5):
                overlaps += bool(set(first.portal_ids) & set(second.portal_ids))
                await asyncio.sleep(0.02)
        await wait_until(bridge.all_settled)
        owner = first if first.portal_ids else second
        standby = second if owner is first else first
        assert owner.portal_ids == [bridge.portal_id] and standby.portal_ids == []
        await owner.stop()  # releases the lease: the other takes the portal over at its next sweep
        await wait_until(lambda: _owns(standby, bridge.portal_id), within=10)
        await bridge.post(conversations[0], "after the handover")
        expected[conversations[0]].append("after the handover")
        await wait_until(bridge.all_settled)
    assert overlaps == 0
    assert set((await bridge.statuses()).values()) == {MessageStatus.DELIVERED}
    assert await bridge.arrived(conversations) == expected


async def _owns(worker: Worker, portal_id: int) -> bool:
    return worker.portal_ids == [portal_id]
