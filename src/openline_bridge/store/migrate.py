"""Apply the Alembic migrations shipped inside the package (``openline-bridge migrate`` and start-up)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from openline_bridge.store.database import Database, storage_errors

__all__ = ["current_revision", "downgrade", "head_revision", "upgrade"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection  # env.py runs on it (no URL there by design)
    return config


def head_revision() -> str:
    """The newest revision shipped with this version of the bridge."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "the package ships at least one migration"
    return head


async def _run(database: Database, step: Callable[[Config, str], None], revision: str) -> None:
    def run(connection: Connection) -> None:
        step(_config(connection), revision)

    with storage_errors():
        async with database.engine.begin() as connection:
            await connection.run_sync(run)


async def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (default: the newest); a no-op when already there."""
    await _run(database, command.upgrade, revision)


async def downgrade(database: Database, revision: str) -> None:
    """Roll the schema back to ``revision`` (``"base"``: no tables); for operators undoing an upgrade."""
    await _run(database, command.downgrade, revision)


async def current_revision(database: Database) -> str | None:
    """The revision the database is at, or None if it was never migrated."""

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    with storage_errors():
        async with database.engine.connect() as connection:
            return await connection.run_sync(read)
