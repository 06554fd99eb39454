"""The migration chain produces exactly the schema the models describe, on both backends."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from openline_bridge.store.database import Database
from openline_bridge.store.migrate import current_revision, downgrade, head_revision, upgrade
from openline_bridge.store.models import Base


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _constraint_names(connection: Connection) -> dict[str, set[str]]:
    inspector = inspect(connection)
    names: dict[str, set[str]] = {}
    for table in inspector.get_table_names():
        found = {c["name"] for c in inspector.get_check_constraints(table) if c["name"]}
        found |= {c["name"] for c in inspector.get_unique_constraints(table) if c["name"]}
        found |= {c["name"] for c in inspector.get_foreign_keys(table) if c["name"]}
        names[table] = found
    return names


async def test_migrations_match_models(database: Database) -> None:
    async with database.engine.connect() as connection:
        assert await connection.run_sync(_differences) == []


async def test_constraint_names_match_models(database: Database) -> None:
    async with database.engine.connect() as connection:
        migrated = await connection.run_sync(_constraint_names)
    migrated.pop("alembic_version", None)
    expected: dict[str, set[str]] = {}
    for table in Base.metadata.sorted_tables:
        expected[table.name] = {
            str(c.name) for c in table.constraints if c.name and not str(c.name).startswith("pk_")
        }
    assert migrated == expected


async def test_upgrade_is_idempotent_and_records_head(unmigrated_database: Database) -> None:
    assert await current_revision(unmigrated_database) is None
    await upgrade(unmigrated_database)
    await upgrade(unmigrated_database)
    assert await current_revision(unmigrated_database) == head_revision()


async def test_downgrade_to_base_and_back(database: Database) -> None:
    await downgrade(database, "base")
    async with database.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    assert tables == ["alembic_version"]
    await upgrade(database)
    async with database.engine.connect() as connection:
        assert await connection.run_sync(_differences) == []
