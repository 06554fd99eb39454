"""SQLite under the async engine: a connection that keeps the event loop's turns out of brief transactions.

aiosqlite runs every call on the connection's own thread and resumes the caller on the event loop's next
turn. SQLAlchemy makes four such calls per query (open a cursor, execute, fetch, close) and more for BEGIN
and COMMIT, so a small write transaction of eight statements made about thirty round trips, each waiting
behind whatever else the loop had to do: under 300 visitor messages/s one took about 7 ms for well under
1 ms of SQLite's own work, and every acknowledgement waited for it (bench/visitor_ack.py).

:class:`LeanConnection` hands its thread only what may take long or wait:

- ``BEGIN IMMEDIATE`` (:data:`BEGIN_WRITE`) first tries to take the write lock without waiting, at once;
  only when another connection or process holds it does it wait, up to the busy timeout, on the thread.
- A statement is one round trip, executed and fetched together; opening and closing a cursor and reading
  fetched rows need none.
- A *brief* write transaction (:meth:`LeanConnection.stay_on_caller_thread`, asked for by
  ``Database.transaction(brief=True)``: the request path's few statements on rows found by key) runs its
  statements and its ``COMMIT`` at once on the caller's thread once it holds the lock: in WAL mode nothing
  inside a write transaction waits for another connection, so it costs the loop microseconds of SQLite
  work instead of a round trip per statement. Every other transaction, which may scan (the outbox worker's
  claims over a backlog), and every read stay on the thread, where SQLite releases the GIL.
- Automatic checkpoints are off on these connections, since one would write and sync the database file
  inside a ``COMMIT`` on the caller's thread. :class:`Checkpointer` runs a passive checkpoint on a thread
  of its own after commits instead, at most one at a time and one per :data:`CHECKPOINT_INTERVAL`.

This relies on aiosqlite internals (``Connection._execute``, ``Connection._conn``, ``Cursor._cursor``), so
:class:`SqliteConnector` uses it only beside the aiosqlite release it was verified against (pinned in
requirements/constraints.txt), and plain aiosqlite with SQLite's own checkpoints otherwise;
tests/store/test_sqlite_driver.py fails when the pinned release or those internals change.
"""

from __future__ import annotations

import asyncio
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from importlib.metadata import version
from typing import Any, TypeVar

import aiosqlite

from openline_bridge.logging import get_logger

__all__ = [
    "BEGIN_WRITE",
    "CHECKPOINT_INTERVAL",
    "VERIFIED_AIOSQLITE",
    "Checkpointer",
    "LeanConnection",
    "LeanCursor",
    "SqliteConnector",
    "is_lean",
]

_log = get_logger(__name__)

VERIFIED_AIOSQLITE = "0.22.1"  # the release whose internals LeanConnection was written and tested against
BEGIN_WRITE = "BEGIN IMMEDIATE"  # takes the write lock up front (see store.database)
CHECKPOINT_INTERVAL = 1.0  # seconds between passive checkpoints while commits keep coming

T = TypeVar("T")


def _execute_and_fetch(cursor: sqlite3.Cursor, sql: str, parameters: Any) -> list[Any] | None:
    cursor.execute(sql, parameters)
    return cursor.fetchall() if cursor.description is not None else None


def _is_busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY


class Checkpointer:
    """Passive WAL checkpoints of one database file, on a thread, never more than one at a time."""

    def __init__(self, database: str, interval: float = CHECKPOINT_INTERVAL) -> None:
        self._database = database
        self._interval = interval
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # the checkpoint connection: one user at a time
        self._running: asyncio.Future[None] | None = None
        self._last = -math.inf
        self._closes = 0  # a checkpoint queued before close() must not reopen the connection after it

    def after_commit(self) -> None:
        """Start a checkpoint unless one is running or the last began less than the interval ago."""
        now = time.monotonic()
        if (self._running is not None and not self._running.done()) or now - self._last < self._interval:
            return
        self._last = now
        self._running = asyncio.get_running_loop().run_in_executor(None, self._checkpoint, self._closes)
        self._running.add_done_callback(self._report)

    def close(self) -> None:
        """Close the checkpoint connection (a checkpoint still running finishes first, one still queued
        does nothing); a later commit opens it again."""
        with self._lock:
            self._closes += 1
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _checkpoint(self, closes: int) -> None:
        with self._lock:
            if closes != self._closes:
                return
            if self._connection is None:
                self._connection = sqlite3.connect(self._database, check_same_thread=False)
            # PASSIVE copies what no reader still needs and never waits for anyone.
            self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    @staticmethod
    def _report(done: asyncio.Future[None]) -> None:
        if not done.cancelled() and done.exception() is not None:
            # SQLite checkpoints again next time; the WAL only grows meanwhile.
            _log.warning("sqlite.checkpoint_failed", error=str(done.exception()))


class LeanCursor(aiosqlite.Cursor):
    """A cursor whose statement is one round trip, or none in a brief write transaction; rows come with it."""

    def __init__(self, connection: LeanConnection, cursor: sqlite3.Cursor) -> None:
        super().__init__(connection, cursor)
        self._lean = connection
        self._rows: list[Any] = []

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> LeanCursor:
        """Run ``sql`` and fetch its rows, if it has any, in the same step."""
        if sql == BEGIN_WRITE:
            await self._lean.begin_write(self._cursor)
            self._rows = []
            return self
        parameters = () if parameters is None else parameters
        rows = await self._lean.run(_execute_and_fetch, self._cursor, sql, parameters)
        self._rows = rows or []
        return self

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> LeanCursor:
        """Run ``sql`` once per parameter set."""
        await self._lean.run(self._cursor.executemany, sql, parameters)
        self._rows = []
        return self

    async def fetchone(self) -> Any:
        """The next fetched row, or None."""
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        """Up to ``size`` (default ``arraysize``) fetched rows."""
        count = self._cursor.arraysize if size is None else size
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def fetchall(self) -> Sequence[Any]:
        """Every fetched row not read yet."""
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        """Close the cursor: its rows are already fetched, so SQLite has nothing left to do."""
        self._rows = []
        self._cursor.close()


class LeanConnection(aiosqlite.Connection):
    """An aiosqlite connection that keeps the event loop's turns out of brief transactions (see above)."""

    def __init__(
        self, connector: Callable[[], sqlite3.Connection], *, busy_timeout_ms: int, checkpointer: Checkpointer
    ) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._busy_timeout_ms = busy_timeout_ms
        self._checkpointer = checkpointer
        self._holds_write_lock = False
        self._on_caller_thread = False

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` with the connection: on the caller's thread inside a brief write transaction,
        on the connection's thread otherwise."""
        if self._on_caller_thread:
            return function(*args)
        return await self._on_thread(function, *args)

    async def _on_thread(self, function: Callable[..., T], *args: Any) -> T:
        result: T = await self._execute(function, *args)  # type: ignore[no-untyped-call]
        return result

    async def begin_write(self, cursor: sqlite3.Cursor) -> None:
        """``BEGIN IMMEDIATE``: at once if the write lock is free, else waiting on the connection's thread."""
        try:
            cursor.execute("PRAGMA busy_timeout=0")
            try:
                cursor.execute(BEGIN_WRITE)
            finally:
                cursor.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            await self._on_thread(cursor.execute, BEGIN_WRITE)  # another process writes: wait off the loop
        self._holds_write_lock = True

    def stay_on_caller_thread(self) -> None:
        """Run the rest of this write transaction, its ``COMMIT`` included, on the caller's thread: for a
        brief transaction (a handful of rows by key), once ``BEGIN IMMEDIATE`` holds the lock."""
        if not self._holds_write_lock:
            raise RuntimeError("only a write transaction that holds the lock runs on the caller's thread")
        self._on_caller_thread = True

    # SQLAlchemy opens a cursor with ``connection.cursor()`` and then awaits its ``__aenter__``: creating a
    # sqlite3 cursor does no I/O, so it needs no round trip (aiosqlite's own cursor() makes one).
    def cursor(self) -> LeanCursor:  # type: ignore[override]
        """A new cursor, at once."""
        return LeanCursor(self, self._conn.cursor())

    async def commit(self) -> None:
        """Commit, on the thread the transaction ran on, then let the checkpointer know."""
        wrote = self._holds_write_lock
        on_caller_thread = self._on_caller_thread
        self._holds_write_lock = self._on_caller_thread = False
        if on_caller_thread:
            self._conn.commit()
        else:
            await self._on_thread(self._conn.commit)
        if wrote:
            self._checkpointer.after_commit()

    async def rollback(self) -> None:
        """Roll back at once: it never waits, and outside a transaction there is nothing to do."""
        self._holds_write_lock = self._on_caller_thread = False
        if self._conn.in_transaction:
            self._conn.rollback()

    async def close(self) -> None:
        """Close the connection and stop its thread."""
        self._holds_write_lock = self._on_caller_thread = False
        await super().close()


def is_lean() -> bool:
    """Whether the installed aiosqlite is the release :class:`LeanConnection` was verified against."""
    return version("aiosqlite") == VERIFIED_AIOSQLITE


def _connect(database: str, busy_timeout_ms: int, autocheckpoint: bool) -> sqlite3.Connection:
    # check_same_thread off: a LeanConnection is used from the caller's thread and from its own, never from
    # both at once (SQLAlchemy gives a connection to one task at a time). isolation_level None: the driver
    # never opens a transaction by itself; SQLAlchemy emits BEGIN (store.database chooses which).
    connection = sqlite3.connect(database, check_same_thread=False, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA synchronous=NORMAL")
    if not autocheckpoint:
        connection.execute("PRAGMA wal_autocheckpoint=0")
    return connection


class SqliteConnector:
    """Opens the connections of one SQLite file for ``create_async_engine(async_creator=...)``: lean ones
    with their :class:`Checkpointer` beside the verified aiosqlite, plain aiosqlite ones otherwise."""

    def __init__(self, database: str, *, busy_timeout_ms: int) -> None:
        self.lean = is_lean()
        self._database = database
        self._busy_timeout_ms = busy_timeout_ms
        self._checkpointer = Checkpointer(database)

    async def __call__(self) -> aiosqlite.Connection:
        """A new open connection."""
        connector = partial(_connect, self._database, self._busy_timeout_ms, not self.lean)
        connection = (
            LeanConnection(connector, busy_timeout_ms=self._busy_timeout_ms, checkpointer=self._checkpointer)
            if self.lean
            else aiosqlite.Connection(connector, iter_chunk_size=64)
        )
        # aiosqlite's thread would keep the process alive at exit (SQLAlchemy's own dialect does the same)
        connection._thread.daemon = True
        return await connection

    def close(self) -> None:
        """Release the checkpointer's connection."""
        self._checkpointer.close()
