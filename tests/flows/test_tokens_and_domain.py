"""Tokens that expire during work, two bridge processes refreshing one portal, a renamed portal.

The single-process cases count OAuth requests on the bridge's HTTP transport; the two-process case runs
two real ``openline-bridge check`` processes on one database and counts the refreshes they log (the
sandbox's call log covers REST methods, not its OAuth endpoint).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from tests.bitrix24.sandbox_peer import CountingTransport, SandboxProcess
from tests.lifecycle.bridge_peer import RunningBridge, create_sandbox_app, install, run_bridge

from openline_bridge.health import PortalHealth, check_portal
from openline_bridge.settings import Settings
from openline_bridge.store import portals
from openline_bridge.store.database import Database

EXECUTABLE = str(Path(sys.executable).parent / "openline-bridge")
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
async def counted(
    settings: Settings, database: Database, sandbox: SandboxProcess, control: httpx.AsyncClient
) -> AsyncIterator[tuple[RunningBridge, CountingTransport, dict[str, object]]]:
    """The bridge with a request-counting transport, and the app installed into it."""
    transport = CountingTransport()
    async with run_bridge(settings, database, sandbox_url=sandbox.base_url, transport=transport) as bridge:
        app = await create_sandbox_app(control, bridge)
        answer = await install(control, app["client_id"])
        assert answer["status"] == 200, answer
        yield bridge, transport, answer


async def _check(bridge: RunningBridge, member_id: str) -> PortalHealth:
    async with bridge.services.database.transaction() as session:
        portal = await portals.get(session, member_id)
    return await check_portal(bridge.services, portal)


async def test_expired_token_means_exactly_one_refresh_then_success(
    counted: tuple[RunningBridge, CountingTransport, dict[str, object]], control: httpx.AsyncClient
) -> None:
    bridge, transport, answer = counted
    assert transport.count("/oauth/token/") == 0
    (await control.post("/tokens/expire")).raise_for_status()
    health = await _check(bridge, str(answer["member_id"]))
    assert health.healthy, health
    assert transport.count("/oauth/token/") == 1
    # The new token is stored: the next check needs no refresh.
    await _check(bridge, str(answer["member_id"]))
    assert transport.count("/oauth/token/") == 1


async def test_token_expired_by_the_clock_is_refreshed_once(
    counted: tuple[RunningBridge, CountingTransport, dict[str, object]], control: httpx.AsyncClient
) -> None:
    bridge, transport, answer = counted
    (await control.post("/clock", json={"seconds": 3700})).raise_for_status()
    health = await _check(bridge, str(answer["member_id"]))
    assert health.token_ok, health
    assert transport.count("/oauth/token/") == 1


async def test_renamed_portal_is_followed_and_stored(
    counted: tuple[RunningBridge, CountingTransport, dict[str, object]],
    control: httpx.AsyncClient,
    sandbox: SandboxProcess,
) -> None:
    bridge, _, answer = counted
    new_domain = f"localhost:{sandbox.port}"
    (await control.put("/faults", json={"domain": new_domain})).raise_for_status()
    health = await _check(bridge, str(answer["member_id"]))
    assert health.token_ok, health
    async with bridge.services.database.transaction() as session:
        portal = await portals.get(session, str(answer["member_id"]))
    assert portal.domain == new_domain
    assert portal.client_endpoint == f"http://{new_domain}/rest/"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def shared_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database several processes can open by URL alone (PostgreSQL: a throw-away database)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
        return
    name = f"olb_h6_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _refreshes(stderr: str) -> int:
    count = 0
    for line in stderr.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        count += record.get("event") == "bitrix24.oauth.refreshed"
    return count


async def _install_once(
    settings: Settings, database: Database, sandbox: SandboxProcess, control: httpx.AsyncClient
) -> tuple[str, dict[str, Any]]:
    """Install the app through a bridge that then stops; the URL it served and the install answer."""
    async with run_bridge(settings, database, sandbox_url=sandbox.base_url) as bridge:
        app = await create_sandbox_app(control, bridge)
        answer = await install(control, app["client_id"])
        assert answer["status"] == 200, answer
        return bridge.url, answer


@pytest.mark.slow
async def test_two_processes_refreshing_one_portal_make_one_refresh(
    settings_env: dict[str, str],
    settings: Settings,
    shared_database_url: str,
    sandbox: SandboxProcess,
    control: httpx.AsyncClient,
) -> None:
    database = Database.connect(shared_database_url)
    try:
        public_url, _ = await _install_once(settings, database, sandbox, control)
        (await control.post("/tokens/expire")).raise_for_status()
        env = {
            **settings_env,
            "PATH": os.environ.get("PATH", ""),
            "OLB_DATABASE_URL": shared_database_url,
            "OLB_PUBLIC_URL": public_url,
            "OLB_LOG_LEVEL": "info",
        }
        processes = [
            await asyncio.create_subprocess_exec(
                EXECUTABLE, "check", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for _ in range(2)
        ]
        async with asyncio.timeout(90):
            outputs = [await process.communicate() for process in processes]
        for process, (stdout, stderr) in zip(processes, outputs, strict=True):
            assert process.returncode == 0, (stdout.decode(), stderr.decode()[-3000:])
            assert "healthy" in stdout.decode()
        assert sum(_refreshes(stderr.decode()) for _, stderr in outputs) == 1
        assert all("refresh_failed" not in stderr.decode() for _, stderr in outputs)
    finally:
        await database.dispose()


async def test_check_reports_an_unhealthy_portal_and_exits_1(
    settings_env: dict[str, str],
    settings: Settings,
    shared_database_url: str,
    sandbox: SandboxProcess,
    control: httpx.AsyncClient,
) -> None:
    database = Database.connect(shared_database_url)
    try:
        public_url, answer = await _install_once(settings, database, sandbox, control)
    finally:
        await database.dispose()
    (await control.post("/reset")).raise_for_status()  # the portal forgot the app: its grant is gone
    env = {
        **settings_env,
        "PATH": os.environ.get("PATH", ""),
        "OLB_DATABASE_URL": shared_database_url,
        "OLB_PUBLIC_URL": public_url,
    }
    process = await asyncio.create_subprocess_exec(
        EXECUTABLE, "check", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    async with asyncio.timeout(60):
        stdout, stderr = await process.communicate()
    assert process.returncode == 1, stderr.decode()[-3000:]
    table = stdout.decode()
    assert "MEMBER_ID" in table
    assert str(answer["member_id"]) in table
    assert "UNHEALTHY" in table
    assert "token: invalid_client" in table  # the OAuth server no longer knows the app (contract §5.3)
    assert "Traceback" not in stderr.decode()
