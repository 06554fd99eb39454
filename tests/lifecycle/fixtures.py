"""Fixtures shared by the lifecycle and flow tests (imported by their conftest modules): a sandbox
subprocess, the whole bridge, an installed portal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from tests.bitrix24.sandbox_peer import SandboxProcess
from tests.lifecycle.bridge_peer import RunningBridge, create_sandbox_app, install, run_bridge

from openline_bridge.settings import Settings
from openline_bridge.store.database import Database


@pytest.fixture
async def control(sandbox: SandboxProcess) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the sandbox control API."""
    async with httpx.AsyncClient(base_url=f"{sandbox.base_url}/_sandbox", timeout=20) as client:
        yield client


@pytest.fixture
async def bridge(
    settings: Settings, database: Database, sandbox: SandboxProcess
) -> AsyncIterator[RunningBridge]:
    """The bridge with its background tasks, on the test's database."""
    async with run_bridge(settings, database, sandbox_url=sandbox.base_url) as running:
        yield running


@dataclass
class Installed:
    """The sandbox app installed into the bridge (variant A) and the sandbox's install answer."""

    client_id: str
    answer: dict[str, Any]


@pytest.fixture
async def installed(control: httpx.AsyncClient, bridge: RunningBridge) -> Installed:
    """A fresh sandbox portal with the bridge's app installed through ``/b24/install``."""
    app = await create_sandbox_app(control, bridge)
    answer = await install(control, app["client_id"])
    assert answer["status"] == 200, answer
    return Installed(app["client_id"], answer)
