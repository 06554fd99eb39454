"""A migrated database for a benchmark: SQLite in a temp dir, or a throw-away PostgreSQL schema."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from openline_bridge.store.database import Database
from openline_bridge.store.migrate import upgrade

POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


@contextlib.asynccontextmanager
async def database_at(url: str | None, tmp: Path) -> AsyncIterator[Database]:
    """A migrated database: SQLite in ``tmp``, or a fresh PostgreSQL schema dropped at the end."""
    if url is None:
        database = Database.connect(f"sqlite+aiosqlite:///{tmp / 'bench.db'}")
        await upgrade(database)
        yield database
        await database.dispose()
        return
    schema = f"olb_bench_{secrets.token_hex(4)}"
    plain = url.replace("+asyncpg", "")
    admin = await asyncpg.connect(plain)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    database = Database.connect(url, postgres_search_path=schema)
    try:
        await upgrade(database)
        yield database
    finally:
        await database.dispose()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()
