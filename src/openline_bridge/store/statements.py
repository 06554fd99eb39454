"""Statements of the hot paths, built once and reused.

Building a SQLAlchemy statement (coercing each column and clause, then computing its cache key when it
runs) cost as much CPU as running it on SQLite: for a visitor message or an event, building the handful
of statements of its transaction took a large part of the request. A statement whose shape never changes
(values come in bound parameters; IN lists through ``bindparam(..., expanding=True)``) is therefore built
once at import time; one that depends on the backend (``INSERT … ON CONFLICT``) once per dialect with
:class:`PerDialect`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["PerDialect"]

S = TypeVar("S")


class PerDialect(Generic[S]):
    """A statement built on first use for each database backend, then reused."""

    def __init__(self, build: Callable[[AsyncSession], S]) -> None:
        self._build = build
        self._built: dict[str, S] = {}

    def __call__(self, session: AsyncSession) -> S:
        """The statement for ``session``'s backend."""
        dialect = session.get_bind().dialect.name
        statement = self._built.get(dialect)
        if statement is None:
            statement = self._built[dialect] = self._build(session)
        return statement
