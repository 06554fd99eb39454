"""The SQLite driver under the async engine: write transactions on the event loop's thread, waits for a
foreign writer and reads off it, every row fetched, rollbacks that release the lock, and WAL checkpoints
taken by the Checkpointer instead of inside a COMMIT.

These tests also pin the aiosqlite release LeanConnection relies on (its internals are used directly).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.errors import StorageError
from openline_bridge.store import sqlite_driver
from openline_bridge.store.database import SQLITE_BUSY_TIMEOUT_MS, Database
from openline_bridge.store.sqlite_driver import (
    CHECKPOINT_INTERVAL,
    VERIFIED_AIOSQLITE,
    Checkpointer,
    LeanConnection,
    is_lean,
)

DEADLINE = 5.0  # seconds any polled condition gets before the test fails
CONSTRAINTS = Path(__file__).resolve().parents[2] / "requirements" / "constraints.txt"


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def driver_connection(session: AsyncSession) -> Any:
    """The driver-level (aiosqlite) connection under the session's current transaction."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def scalar(session: AsyncSession, sql: str, **parameters: Any) -> Any:
    return (await session.execute(text(sql), parameters)).scalar_one()


async def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds, failing after :data:`DEADLINE` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while not condition():
        assert loop.time() < deadline, f"not within {DEADLINE} s: {what}"
        await asyncio.sleep(0.01)


def record_threads(database: Database) -> None:
    """Give every new connection a SQL function ``thread_id()``: the thread that runs the statement."""

    @event.listens_for(database.engine.sync_engine, "connect")
    def _register(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("thread_id", 0, threading.get_ident)


def open_files_under(path: Path) -> list[str]:
    """This process's open file descriptors on ``path`` and its ``-wal``/``-shm`` files (Linux)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile (e.g. the listing's own descriptor)
            continue
        if target.startswith(str(path)):
            found.append(target)
    return found


class CountingCheckpointer(Checkpointer):
    """A Checkpointer that records its checkpoints (started, finished, the thread each ran on)."""

    def __init__(self, database: str, interval: float = CHECKPOINT_INTERVAL) -> None:
        super().__init__(database, interval)
        self.started = 0
        self.finished = 0
        self.threads: list[int] = []

    def _checkpoint(self, closes: int) -> None:
        self.started += 1
        self.threads.append(threading.get_ident())
        super()._checkpoint(closes)
        self.finished += 1


@pytest.fixture
def checkpointers(monkeypatch: pytest.MonkeyPatch) -> list[CountingCheckpointer]:
    """Every Checkpointer a SqliteConnector creates in the test: counting, and with no interval."""
    made: list[CountingCheckpointer] = []

    def make(database: str, interval: float = CHECKPOINT_INTERVAL) -> CountingCheckpointer:
        checkpointer = CountingCheckpointer(database, interval=0.0)
        made.append(checkpointer)
        return checkpointer

    monkeypatch.setattr(sqlite_driver, "Checkpointer", make)
    return made


@contextmanager
def loop_exception_reports() -> Iterator[list[dict[str, Any]]]:
    """What reaches the running loop's exception handler inside the block (e.g. unretrieved errors)."""
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        yield reported
    finally:
        loop.set_exception_handler(previous)


# --- the verified aiosqlite release and the connection class ------------------------------------------------


async def test_the_installed_aiosqlite_is_the_verified_release_and_connections_are_lean(
    tmp_path: Path,
) -> None:
    assert version("aiosqlite") == VERIFIED_AIOSQLITE
    assert is_lean()
    assert f"aiosqlite=={VERIFIED_AIOSQLITE}" in CONSTRAINTS.read_text().splitlines()

    database = Database.connect(sqlite_url(tmp_path / "bridge.db"))
    try:
        async with database.transaction() as session:
            assert isinstance(await driver_connection(session), LeanConnection)
        async with database.read() as session:
            assert isinstance(await driver_connection(session), LeanConnection)
    finally:
        await database.dispose()


async def test_another_aiosqlite_release_gets_plain_aiosqlite_with_automatic_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_driver, "version", lambda _name: "0.0.0")
    assert not is_lean()

    database = Database.connect(sqlite_url(tmp_path / "bridge.db"))
    try:
        async with database.transaction() as session:
            connection = await driver_connection(session)
            assert isinstance(connection, aiosqlite.Connection)
            assert not isinstance(connection, LeanConnection)
            assert await scalar(session, "PRAGMA wal_autocheckpoint") == 1000  # SQLite's default
            assert await scalar(session, "PRAGMA journal_mode") == "wal"
            assert await scalar(session, "PRAGMA busy_timeout") == SQLITE_BUSY_TIMEOUT_MS
            await session.execute(text("CREATE TABLE items (name TEXT)"))
            await session.execute(text("INSERT INTO items VALUES ('a'), ('b')"))
        async with database.read() as session:
            assert (await session.execute(text("SELECT name FROM items ORDER BY name"))).scalars().all() == [
                "a",
                "b",
            ]
    finally:
        await database.dispose()


# --- which thread runs what ---------------------------------------------------------------------------------


async def test_a_brief_transaction_runs_on_the_loop_thread_and_the_rest_off_it(tmp_path: Path) -> None:
    database = Database.connect(sqlite_url(tmp_path / "bridge.db"))
    record_threads(database)
    loop_thread = threading.get_ident()
    try:
        async with database.transaction(brief=True) as session:
            await session.execute(text("CREATE TABLE items (id INTEGER PRIMARY KEY, thread INTEGER)"))
            assert await scalar(session, "SELECT thread_id()") == loop_thread
            inserted = await scalar(
                session, "INSERT INTO items (thread) VALUES (thread_id()) RETURNING thread"
            )
            assert inserted == loop_thread
        async with database.read() as session:
            read_thread = await scalar(session, "SELECT thread_id()")
            assert read_thread != loop_thread
            assert await scalar(session, "SELECT thread FROM items") == loop_thread
        # a transaction not declared brief may scan: it stays off the loop's thread
        async with database.transaction() as session:
            assert await scalar(session, "SELECT thread_id()") == read_thread
            await session.execute(text("INSERT INTO items (thread) VALUES (thread_id())"))
        async with database.transaction(brief=True) as session:  # the same connection, back on the loop
            assert await scalar(session, "SELECT thread_id()") == loop_thread
            assert await scalar(session, "SELECT count(*) FROM items WHERE thread = :t", t=read_thread) == 1
    finally:
        await database.dispose()


# --- waiting for another writer -----------------------------------------------------------------------------


async def test_waiting_for_another_writers_lock_leaves_the_event_loop_free(tmp_path: Path) -> None:
    path = tmp_path / "bridge.db"
    database = Database.connect(sqlite_url(path))
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def write() -> Any:
        async with database.transaction() as session:
            await session.execute(text("INSERT INTO items VALUES ('waited')"))
            return await driver_connection(session)

    ticker: asyncio.Task[None] | None = None
    try:
        async with database.transaction() as session:
            await session.execute(text("CREATE TABLE items (name TEXT)"))
        with closing(sqlite3.connect(path, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO items VALUES ('other')")
            ticker = asyncio.create_task(tick())
            writer = asyncio.create_task(write())
            await asyncio.sleep(0.3)  # the other connection holds the write lock this long
            ticks_during_hold = ticks
            waited = not writer.done()
            other.execute("COMMIT")
            async with asyncio.timeout(DEADLINE):
                waited_on = await writer
        assert waited, "the transaction did not wait for the other connection's write lock"
        assert ticks_during_hold >= 5, (
            f"the event loop was held: {ticks_during_hold} ticks of 10 ms in 300 ms"
        )

        async with database.read() as session:
            names = (await session.execute(text("SELECT name FROM items ORDER BY name"))).scalars().all()
        assert names == ["other", "waited"]

        async with database.transaction() as session:
            assert await driver_connection(session) is waited_on
            assert await scalar(session, "PRAGMA busy_timeout") == SQLITE_BUSY_TIMEOUT_MS
    finally:
        if ticker is not None:
            ticker.cancel()
        await database.dispose()


# --- rows and rollbacks -------------------------------------------------------------------------------------


async def assert_every_row_read(session: AsyncSession, select: str, expected: list[tuple[int, str]]) -> None:
    """Every way of reading a result returns exactly ``expected``."""
    assert [tuple(row) for row in (await session.execute(text(select))).all()] == expected
    first = (await session.execute(text(select))).first()
    assert first is not None
    assert tuple(first) == expected[0]
    result = await session.execute(text(select))
    assert [tuple(row) for row in result.fetchmany(2)] == expected[:2]
    assert tuple(result.fetchone() or ()) == expected[2]
    assert [tuple(row) for row in result.fetchall()] == expected[3:]
    # server-side cursor: fetchone/fetchmany reach the driver's cursor
    streamed = await session.stream(text(select))
    assert [tuple(row) for row in await streamed.fetchmany(2)] == expected[:2]
    assert tuple(await streamed.fetchone() or ()) == expected[2]
    assert [tuple(row) for row in await streamed.fetchmany(1)] == [expected[3]]
    assert [tuple(row) for row in await streamed.all()] == expected[4:]


async def test_a_write_transaction_and_a_read_get_every_row(tmp_path: Path) -> None:
    database = Database.connect(sqlite_url(tmp_path / "bridge.db"))
    expected = [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e")]
    select = "SELECT id, name FROM items ORDER BY id"
    try:
        async with database.transaction() as session:
            await session.execute(text("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
            returned = await session.execute(
                text("INSERT INTO items (name) VALUES ('a'), ('b'), ('c'), ('d'), ('e') RETURNING id, name")
            )
            assert sorted(tuple(row) for row in returned.all()) == expected
            await assert_every_row_read(session, select, expected)
            assert await scalar(session, "SELECT count(*) FROM items") == 5

        async with database.read() as session:
            await assert_every_row_read(session, select, expected)
    finally:
        await database.dispose()


async def test_an_integrity_error_rolls_back_the_transaction_and_releases_the_write_lock(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bridge.db"
    database = Database.connect(sqlite_url(path))
    try:
        async with database.transaction() as session:
            await session.execute(text("CREATE TABLE items (name TEXT UNIQUE)"))
            await session.execute(text("INSERT INTO items VALUES ('a')"))

        async def insert_fresh_then_duplicate() -> None:
            async with database.transaction() as session:
                await session.execute(text("INSERT INTO items VALUES ('fresh')"))
                await session.execute(text("INSERT INTO items VALUES ('a')"))

        with pytest.raises(StorageError, match="IntegrityError"):
            await insert_fresh_then_duplicate()

        # nobody holds the write lock: another connection takes it without waiting at all
        with closing(sqlite3.connect(path, timeout=0, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")

        async with database.transaction() as session:
            await session.execute(text("INSERT INTO items VALUES ('later')"))
        async with database.read() as session:
            names = (await session.execute(text("SELECT name FROM items ORDER BY name"))).scalars().all()
        assert names == ["a", "later"]
    finally:
        await database.dispose()


# --- checkpoints --------------------------------------------------------------------------------------------


async def test_commits_are_checkpointed_by_the_checkpointer_and_never_automatically(
    tmp_path: Path, checkpointers: list[CountingCheckpointer]
) -> None:
    path = tmp_path / "bridge.db"
    database = Database.connect(sqlite_url(path))
    rows, size = 2000, 1024
    try:
        async with database.transaction() as session:
            assert await scalar(session, "PRAGMA wal_autocheckpoint") == 0
            await session.execute(text("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB NOT NULL)"))
        async with database.read() as session:
            assert await scalar(session, "PRAGMA wal_autocheckpoint") == 0

        body = bytes(range(256)) * (size // 256)
        for _ in range(4):
            async with database.transaction() as session:
                await session.execute(
                    text("INSERT INTO blobs (body) VALUES (:body)"), [{"body": body}] * (rows // 4)
                )

        # A checkpoint runs after a commit, never two at once: the last commits may have come while one ran,
        # so keep committing (small rows) until the database file holds what the WAL had.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE
        while path.stat().st_size < rows * size:
            assert loop.time() < deadline, f"database file still {path.stat().st_size} bytes"
            await asyncio.sleep(0.02)
            async with database.transaction() as session:
                await session.execute(text("INSERT INTO blobs (body) VALUES (x'00')"))

        [checkpointer] = checkpointers
        assert checkpointer.finished >= 1
        assert threading.get_ident() not in checkpointer.threads  # never on the event loop's thread
        with closing(sqlite3.connect(path)) as plain:
            assert plain.execute("SELECT count(*) FROM blobs WHERE length(body) = ?", (size,)).fetchone() == (
                rows,
            )
    finally:
        await database.dispose()


async def test_the_checkpointer_runs_one_checkpoint_at_a_time(tmp_path: Path) -> None:
    release = threading.Event()

    class Held(CountingCheckpointer):
        """Its checkpoints wait for ``release`` before they start."""

        def __init__(self, database: str, interval: float) -> None:
            super().__init__(database, interval)
            self.entered = 0

        def _checkpoint(self, closes: int) -> None:
            self.entered += 1
            release.wait(DEADLINE)
            super()._checkpoint(closes)

    checkpointer = Held(str(tmp_path / "bridge.db"), interval=0.0)
    try:
        checkpointer.after_commit()
        checkpointer.after_commit()
        await wait_for(lambda: checkpointer.entered == 1, "the first checkpoint starts")
        checkpointer.after_commit()
        await asyncio.sleep(0.1)  # room for a second checkpoint to start, if one had been scheduled
        assert checkpointer.entered == 1
    finally:
        release.set()
    await wait_for(lambda: checkpointer.finished == 1, "the first checkpoint finishes")
    assert checkpointer.entered == 1

    def next_commit_checkpoints() -> bool:
        checkpointer.after_commit()  # a no-op until the loop has seen the running checkpoint done
        return checkpointer.entered >= 2

    await wait_for(next_commit_checkpoints, "a commit after the checkpoint starts another")
    await wait_for(lambda: checkpointer.finished == checkpointer.entered, "the checkpoints finish")
    checkpointer.close()


async def test_the_checkpointer_waits_its_interval_between_checkpoints(tmp_path: Path) -> None:
    checkpointer = CountingCheckpointer(str(tmp_path / "bridge.db"), interval=30.0)
    try:
        checkpointer.after_commit()
        await wait_for(lambda: checkpointer.finished == 1, "the first checkpoint finishes")
        await asyncio.sleep(0.05)  # the loop sees the checkpoint done
        for _ in range(3):
            checkpointer.after_commit()
        await asyncio.sleep(0.1)  # room for a checkpoint to start, if one had been scheduled
        assert checkpointer.started == 1
    finally:
        checkpointer.close()


async def test_a_failing_checkpoint_is_logged_and_raises_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=sqlite_driver.__name__)
    checkpointer = Checkpointer(str(tmp_path / "missing" / "bridge.db"), interval=0.0)

    def failures() -> list[logging.LogRecord]:
        return [record for record in caplog.records if record.getMessage() == "sqlite.checkpoint_failed"]

    with loop_exception_reports() as reported:
        checkpointer.after_commit()
        await wait_for(lambda: len(failures()) == 1, "the failure is logged")

        def retried() -> bool:
            checkpointer.after_commit()  # the next commit tries again
            return len(failures()) >= 2

        await wait_for(retried, "a later commit tries again")
    checkpointer.close()

    record = failures()[0]
    assert record.levelno == logging.WARNING
    assert "unable to open database file" in record.__dict__["olb_fields"]["error"]
    assert reported == []  # no exception left unretrieved for the loop to complain about
    assert not (tmp_path / "missing").exists()


# --- shutdown -----------------------------------------------------------------------------------------------


async def test_dispose_closes_the_checkpointers_connection_too(
    tmp_path: Path, checkpointers: list[CountingCheckpointer]
) -> None:
    path = tmp_path / "bridge.db"
    wal = path.with_name(path.name + "-wal")
    database = Database.connect(sqlite_url(path))
    try:
        async with database.transaction() as session:
            await session.execute(text("CREATE TABLE items (name TEXT)"))
            await session.execute(text("INSERT INTO items VALUES ('a')"))
        [checkpointer] = checkpointers
        await wait_for(lambda: checkpointer.finished >= 1, "a checkpoint opens the checkpointer's connection")
        assert wal.exists()
        assert open_files_under(path)
    finally:
        await database.dispose()

    # SQLite removes the WAL when the last connection to the file closes
    assert not wal.exists() or wal.stat().st_size == 0
    assert open_files_under(path) == []
    with closing(sqlite3.connect(path)) as plain:
        assert plain.execute("SELECT name FROM items").fetchall() == [("a",)]


async def test_a_checkpoint_queued_before_close_does_not_reopen_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bridge.db"
    with closing(sqlite3.connect(path)) as plain:
        plain.execute("PRAGMA journal_mode=WAL")
    busy = threading.Event()
    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(max_workers=1)
    loop.set_default_executor(executor)
    checkpointer = CountingCheckpointer(str(path), interval=0.0)
    try:
        blocker = loop.run_in_executor(None, busy.wait, DEADLINE)  # the one worker is taken
        checkpointer.after_commit()  # queued behind it
        checkpointer.close()
        busy.set()
        await blocker
        await wait_for(lambda: checkpointer.finished == 1, "the queued checkpoint ran")
        assert open_files_under(path) == []
    finally:
        checkpointer.close()
        executor.shutdown()


async def test_a_database_still_works_after_dispose(tmp_path: Path) -> None:
    """SQLAlchemy allows using an engine after dispose: connections (and checkpoints) open again."""
    database = Database.connect(sqlite_url(tmp_path / "bridge.db"))
    try:
        async with database.transaction() as session:
            await session.execute(text("CREATE TABLE items (name TEXT)"))
        await database.dispose()
        async with database.transaction() as session:
            await session.execute(text("INSERT INTO items VALUES ('after')"))
        async with database.read() as session:
            assert await scalar(session, "SELECT name FROM items") == "after"
    finally:
        await database.dispose()
