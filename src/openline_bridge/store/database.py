"""The database handle: one async engine, its session factory, and the dialect settings that matter.

SQLite runs in WAL mode with a busy timeout and foreign keys on (connections of
:mod:`~openline_bridge.store.sqlite_driver`), and every transaction starts with ``BEGIN IMMEDIATE``: the
write lock is taken up front, so two writers queue on ``busy_timeout`` instead of one failing with
"database is locked" when it upgrades a read lock. Only :meth:`Database.read`, for queries, begins
without a lock. PostgreSQL uses asyncpg.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from openline_bridge.errors import StorageError
from openline_bridge.store.sqlite_driver import BEGIN_WRITE, LeanConnection, SqliteConnector

__all__ = ["Database", "storage_errors"]

SQLITE_BUSY_TIMEOUT_MS = 10_000
_READ_ONLY = "openline_bridge_read_only"  # a connection execution option: see Database.read
_BRIEF = "openline_bridge_brief"  # a connection execution option: see Database.transaction


def _begin_sqlite_by_kind(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get(_READ_ONLY, False):
            # A reader takes no lock up front: in WAL mode it reads the last commit while a writer works.
            connection.exec_driver_sql("BEGIN")
            return
        connection.exec_driver_sql(BEGIN_WRITE)
        driver_connection = connection.connection.driver_connection
        if options.get(_BRIEF, False) and isinstance(driver_connection, LeanConnection):
            driver_connection.stay_on_caller_thread()


@contextmanager
def storage_errors() -> Iterator[None]:
    """Map driver and connection failures inside the block to ``StorageError`` (callers catch our types)."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise StorageError(f"database operation failed: {exc.__class__.__name__}: {exc}") from exc
    except OSError as exc:  # asyncpg and aiosqlite raise plain OSError when the server or file is unreachable
        raise StorageError(f"database unreachable: {exc}") from exc


class Database:
    """An async engine plus session factory; create with :meth:`connect`, close with :meth:`dispose`."""

    def __init__(self, engine: AsyncEngine, sqlite_connector: SqliteConnector | None = None) -> None:
        self.engine = engine
        self._sqlite_connector = sqlite_connector
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        # SQLite has one writer at a time and every transaction here writes (BEGIN IMMEDIATE). Queueing
        # this process's transactions on a lock hands the write lock over at once, in arrival order;
        # left to SQLite's busy handler, waiters poll with sleeps of up to 100 ms.
        self._sqlite_writer = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    @classmethod
    def connect(cls, url: str, *, postgres_search_path: str | None = None) -> Database:
        """Open (lazily) the database at ``url``; ``postgres_search_path`` isolates a PostgreSQL schema."""
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            # A SQLite file cannot drop a connection; pinging it would add a round trip to every transaction.
            connector = SqliteConnector(parsed.database or ":memory:", busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS)
            engine = create_async_engine(parsed, async_creator=connector, pool_pre_ping=False)
            _begin_sqlite_by_kind(engine)
            return cls(engine, connector)
        connect_args: dict[str, Any] = {}
        if postgres_search_path is not None:
            connect_args["server_settings"] = {"search_path": postgres_search_path}
        engine = create_async_engine(parsed, connect_args=connect_args, pool_pre_ping=True)
        return cls(engine)

    @property
    def is_postgresql(self) -> bool:
        """Whether the backend is PostgreSQL (row locks and ``SKIP LOCKED`` available)."""
        return self.engine.dialect.name == "postgresql"

    @asynccontextmanager
    async def transaction(self, *, brief: bool = False) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on any exception.

        ``brief``: the transaction touches a handful of rows found by key and awaits nothing but its own
        statements (the request path's writes). On SQLite it then runs at once on the event loop's thread
        instead of a round trip to the connection's thread per statement (``store.sqlite_driver``); a
        transaction that may scan must not claim it, since it would hold the loop for the scan.

        Database failures leave as ``StorageError``; the caller's own exceptions pass through unchanged.
        """
        with storage_errors():
            if self._sqlite_writer is None:
                async with self.sessions.begin() as session:
                    yield session
                return
            try:
                async with asyncio.timeout(SQLITE_BUSY_TIMEOUT_MS / 1000):
                    await self._sqlite_writer.acquire()
            except TimeoutError:
                raise StorageError("database is locked: no write slot within the busy timeout") from None
            try:
                async with self.sessions.begin() as session:
                    if brief:
                        # procures the connection with the option, which the "begin" hook reads
                        await session.connection(execution_options={_BRIEF: True})
                    yield session
            finally:
                self._sqlite_writer.release()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for queries only, rolled back at the end: on SQLite it neither queues for this
        process's write slot nor takes the write lock, so a read never waits behind a writing transaction.

        Database failures leave as ``StorageError``. Writing through it is a bug (SQLite would refuse it
        while another connection writes).
        """
        with storage_errors():
            async with self.sessions() as session:
                await session.connection(execution_options={_READ_ONLY: True})
                yield session

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
        if self._sqlite_connector is not None:
            self._sqlite_connector.close()
