"""The portal unreachable for a while: every message arrives once it is back, in order, exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.bitrix24.sandbox_peer import SandboxProcess, free_port
from tests.worker.peer import connect_bridge, start_sandbox_at, wait_until

from openline_bridge.store.database import Database
from openline_bridge.store.models import MessageStatus


@pytest.fixture
def own_sandbox(tmp_path: Path) -> Iterator[list[SandboxProcess]]:
    """A private sandbox (the test stops and restarts it); whatever runs at the end is stopped."""
    running = [start_sandbox_at(free_port(), tmp_path / "sandbox-state.json", tmp_path / "sandbox.log")]
    try:
        yield running
    finally:
        running[-1].stop()


async def test_everything_arrives_after_an_outage(
    database: Database, own_sandbox: list[SandboxProcess], tmp_path: Path
) -> None:
    sandbox = own_sandbox[0]
    bridge = await connect_bridge(database, sandbox, tmp_path / "files")
    try:
        conversations = [await bridge.new_conversation() for _ in range(3)]
        expected = {c: [f"{c}-before"] for c in conversations}
        for conversation in conversations:
            await bridge.post(conversation, f"{conversation}-before")
        async with bridge.running():
            await wait_until(bridge.all_settled)
            state = tmp_path / "sandbox-state.json"
            sandbox.control("POST", "/state/save", {"path": str(state)})
            sandbox.stop()
            for i in range(4):
                for conversation in conversations:
                    await bridge.post(conversation, f"{conversation}-during-{i}")
                    expected[conversation].append(f"{conversation}-during-{i}")

            async def retrying() -> bool:
                return any(job.attempts >= 2 and job.last_error for job in await bridge.jobs())

            await wait_until(retrying)
            restarted = start_sandbox_at(sandbox.port, state, tmp_path / "sandbox.log")
            own_sandbox.append(restarted)
            bridge.sandbox = restarted
            await wait_until(bridge.all_settled, within=60)
        assert set((await bridge.statuses()).values()) == {MessageStatus.DELIVERED}
        assert sorted(bridge.chat_texts().values()) == sorted(expected.values())
    finally:
        for client in bridge.clients:
            await client.aclose()
