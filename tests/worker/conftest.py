"""Fixtures of the worker tests: a sandbox subprocess for this package, a bridge connected to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tests.bitrix24.sandbox_peer import SandboxProcess, start_sandbox
from tests.worker.peer import Bridge, connect_bridge

from openline_bridge.store.database import Database


@pytest.fixture(scope="session")
def worker_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """One b24-sandbox subprocess for the worker tests; each test resets its portal."""
    process = start_sandbox(tmp_path_factory.mktemp("worker-sandbox") / "sandbox.log")
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
async def bridge(database: Database, worker_sandbox: SandboxProcess, tmp_path: Path) -> AsyncIterator[Bridge]:
    """A bridge whose portal is installed in the sandbox with the connector active on its first line."""
    connected = await connect_bridge(database, worker_sandbox, tmp_path / "files")
    try:
        yield connected
    finally:
        for client in connected.clients:
            await client.aclose()
