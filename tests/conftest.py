"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, a SecretBox, valid settings, and one
b24-sandbox subprocess per test process (each test that uses it resets its portal).

Every storage test runs on both backends (ARCHITECTURE.md "Storage"). Isolation from other test runs on
the same machine: SQLite uses a file in the test's temp dir; PostgreSQL gets a fresh random schema
(selected through ``search_path``) that is dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from tests.bitrix24.sandbox_peer import SandboxProcess, start_sandbox

from openline_bridge.crypto import SecretBox
from openline_bridge.settings import Settings, load_settings
from openline_bridge.store import portals
from openline_bridge.store.database import Database
from openline_bridge.store.migrate import upgrade
from openline_bridge.store.portals import PortalInstall, PortalRecord
from openline_bridge.store.types import utc_now

POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
TEST_SECRET_KEY = "test-secret-key-0123456789abcdefghijklmnop"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]

DatabaseFactory = Callable[[], Awaitable[Database]]


@pytest.fixture(params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[str, str | None]]:
    """``(url, postgres_search_path)`` of an empty database private to this test, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'bridge.db'}", None
        return
    schema = f"olb_test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        yield POSTGRES_URL, schema
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """One b24-sandbox subprocess for the test process; tests reset its portal through the control API."""
    process = start_sandbox(tmp_path_factory.mktemp("sandbox") / "sandbox.log")
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
async def open_database(database_url: tuple[str, str | None]) -> AsyncIterator[DatabaseFactory]:
    """Opens further handles (separate engines, like separate processes) on the test's database."""
    opened: list[Database] = []

    async def factory() -> Database:
        url, schema = database_url
        database = Database.connect(url, postgres_search_path=schema)
        opened.append(database)
        return database

    yield factory
    for database in opened:
        await database.dispose()


@pytest.fixture
async def unmigrated_database(open_database: DatabaseFactory) -> Database:
    """An empty database handle (no tables yet)."""
    return await open_database()


@pytest.fixture
async def database(unmigrated_database: Database) -> Database:
    """A database with every migration applied."""
    await upgrade(unmigrated_database)
    return unmigrated_database


@pytest.fixture
def secret_box() -> SecretBox:
    """A SecretBox under the test key."""
    return SecretBox(TEST_SECRET_KEY)


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """A minimal valid ``OLB_*`` environment, applied to this process (and returned for subprocesses)."""
    env = {
        "OLB_PUBLIC_URL": "http://127.0.0.1:8080",
        "OLB_SECRET_KEY": TEST_SECRET_KEY,
        "OLB_B24_CLIENT_ID": "local.test0001",
        "OLB_B24_CLIENT_SECRET": "test-client-secret-value",
        "OLB_DATA_DIR": str(tmp_path / "data"),
    }
    for name in [name for name in os.environ if name.startswith("OLB_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def settings(settings_env: dict[str, str]) -> Settings:
    """Valid settings built from :func:`settings_env`."""
    return load_settings()


def sample_install(member_id: str = "a223c6b3710f85df22e9377d6c4f7553", **changes: object) -> PortalInstall:
    """A portal install as ONAPPINSTALL would describe it (contract §6.2), with fields overridable."""
    values: dict[str, object] = {
        "member_id": member_id,
        "domain": "portal.example.bitrix24.com",
        "client_endpoint": "https://portal.example.bitrix24.com/rest/",
        "server_endpoint": "https://oauth.bitrix.info/rest/",
        "client_id": "local.test0001",
        "access_token": "access-1",
        "refresh_token": "refresh-1",
        "access_expires_at": utc_now() + timedelta(hours=1),
        "application_token": "app-token-1",
        "scope": "imopenlines,imconnector,im",
        "installed_by_bitrix_user_id": 1,
    }
    values.update(changes)
    return PortalInstall(**values)  # type: ignore[arg-type]


@pytest.fixture
async def installed_portal(database: Database, secret_box: SecretBox) -> PortalRecord:
    """One portal, installed and set up, in the test database."""
    async with database.transaction() as session:
        await portals.upsert_install(session, secret_box, sample_install(), utc_now())
        await portals.mark_install_finished(session, sample_install().member_id, utc_now())
        return await portals.get(session, sample_install().member_id)


@pytest.fixture
def make_install() -> Callable[..., PortalInstall]:
    """:func:`sample_install` for tests (conftest modules are not importable under importlib mode)."""
    return sample_install
