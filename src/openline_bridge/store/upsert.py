"""``INSERT … ON CONFLICT`` for the session's backend: SQLite and PostgreSQL spell it the same way in
SQLAlchemy but through different constructs, and both support ``RETURNING``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["insert_on_conflict"]


def insert_on_conflict(session: AsyncSession, table: Any) -> Any:
    """An insert with ``on_conflict_do_nothing``/``on_conflict_do_update`` for the session's backend."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
