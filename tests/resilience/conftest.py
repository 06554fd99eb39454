"""Fixtures of the resilience tests: a database URL for a bridge process, and the running stack."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from tests.resilience.stack import Stack, new_database_name, start_stack, visitor_client

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A private database on each backend: a SQLite file in the test's temp dir, or a fresh PostgreSQL
    database (a bridge process takes only a URL, no schema setting, so a schema cannot isolate it)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'bridge.db'}"
        return
    name = new_database_name()
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file in the test's temp dir."""
    return f"sqlite+aiosqlite:///{tmp_path / 'bridge.db'}"


@pytest.fixture
def stack(request: pytest.FixtureRequest, tmp_path: Path, sqlite_url: str) -> Iterator[Stack]:
    """The sandbox and the bridge (SQLite), set up and connected; stopped afterwards. Parametrize it
    indirectly with a dict to add ``OLB_*`` settings."""
    extra_env: dict[str, str] = getattr(request, "param", {})
    running = start_stack(tmp_path, sqlite_url, extra_env)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
async def control(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the sandbox (portal and control API)."""
    async with httpx.AsyncClient(base_url=stack.sandbox.url, timeout=30) as client:
        yield client


@pytest.fixture
async def visitor_http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the bridge's visitor API."""
    async with visitor_client(stack.bridge.url) as client:
        yield client
