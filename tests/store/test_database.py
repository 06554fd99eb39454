"""The database handle: SQLite pragmas, enforced foreign keys, errors mapped to StorageError."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from openline_bridge.errors import StorageError
from openline_bridge.store import lines
from openline_bridge.store.database import Database
from openline_bridge.store.types import utc_now


async def test_foreign_keys_are_enforced(database: Database) -> None:
    with pytest.raises(StorageError, match="IntegrityError"):
        async with database.transaction() as session:
            await lines.ensure(session, portal_id=4242, bitrix_line_id=1, now=utc_now())


async def test_sqlite_runs_in_wal_mode_with_busy_timeout(tmp_path: Path) -> None:
    database = Database.connect(f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'bridge.db'}")
    try:
        async with database.transaction() as session:
            assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await session.execute(text("PRAGMA busy_timeout"))).scalar() == 10_000
            assert (await session.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await database.dispose()
    assert not database.is_postgresql


async def test_callers_exceptions_pass_through_and_roll_back(database: Database) -> None:
    class Stop(Exception):
        pass

    async def create_then_fail() -> None:
        async with database.transaction() as session:
            await session.execute(text("CREATE TABLE scratch (n INTEGER)"))
            raise Stop

    with pytest.raises(Stop):
        await create_then_fail()
    with pytest.raises(StorageError):
        async with database.transaction() as session:
            await session.execute(text("SELECT n FROM scratch"))


async def test_a_read_sees_the_last_commit_without_waiting_for_a_writer(database: Database) -> None:
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE scratch (n INTEGER)"))
        await session.execute(text("INSERT INTO scratch VALUES (1)"))
    async with database.transaction() as writer:
        await writer.execute(text("INSERT INTO scratch VALUES (2)"))
        async with asyncio.timeout(5), database.read() as reader:
            assert (await reader.execute(text("SELECT count(*) FROM scratch"))).scalar() == 1
