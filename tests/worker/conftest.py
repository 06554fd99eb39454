"""Fixtures of the worker tests: a bridge connected to the shared sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.bitrix24.sandbox_peer import SandboxProcess
from tests.worker.peer import Bridge, connect_bridge

from openline_bridge.store.database import Database


@pytest.fixture
async def bridge(database: Database, sandbox: SandboxProcess, tmp_path: Path) -> AsyncIterator[Bridge]:
    """A bridge whose portal is installed in the sandbox with the connector active on its first line."""
    connected = await connect_bridge(database, sandbox, tmp_path / "files")
    try:
        yield connected
    finally:
        for client in connected.clients:
            await client.aclose()
