"""Group commit: requests that arrive while a transaction is in flight share the next one.

A transaction costs a few milliseconds whatever it holds (SQLite hands every statement and the commit to
a thread; PostgreSQL pays a round trip each), so one per request caps a process at a few hundred writes
per second and queues the rest behind a lock. :class:`GroupCommit` queues submitted items and lets at
most ``writers`` drain tasks hand them, a batch at a time, to a batch writer. Each submitter waits for
its own item's outcome, so nothing is acknowledged before the transaction holding it has committed.

Drain tasks live only while the queue is non-empty: nothing outlives a burst, so there is nothing to
start or stop with the application (:meth:`GroupCommit.close` fails what is still waiting).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.errors import StorageError
from openline_bridge.logging import get_logger

__all__ = ["BatchInSession", "BatchWriter", "Failed", "GroupCommit", "shared_transaction"]

_log = get_logger(__name__)

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Failed:
    """An item's own failure, which a batch writer returns in that item's place."""

    error: Exception


BatchWriter = Callable[[list[T]], Awaitable[Sequence[R | Failed]]]
# Writes a whole batch inside the caller's transaction; one outcome per item, in order.
BatchInSession = Callable[[AsyncSession, list[T]], Awaitable[Sequence[R]]]


@dataclass
class _Waiting(Generic[T, R]):
    item: T
    outcome: asyncio.Future[R]


class GroupCommit(Generic[T, R]):
    """Batches submitted items for ``write``; :meth:`submit` returns once its item is settled.

    ``write`` gets up to ``max_batch`` items and returns one outcome per item, in order: a result or
    :class:`Failed`. If it raises, every item of the batch fails with that exception.
    """

    def __init__(
        self, write: BatchWriter[T, R], *, name: str, max_batch: int = 500, writers: int = 1
    ) -> None:
        self._write = write
        self._name = name
        self._max_batch = max_batch
        self._writers = writers
        self._queue: list[_Waiting[T, R]] = []
        self._draining = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> R:
        """Queue ``item`` and wait for its outcome (raises the item's own error, or its batch's)."""
        waiting: _Waiting[T, R] = _Waiting(item, asyncio.get_running_loop().create_future())
        self._queue.append(waiting)
        if self._draining < self._writers:
            self._draining += 1
            task = asyncio.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await waiting.outcome

    async def close(self) -> None:
        """Stop the drain tasks; items still waiting fail with ``StorageError``."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._fail(self._queue, StorageError("the bridge is shutting down"))
        self._queue = []

    async def _drain(self) -> None:
        # The count drops in the same step as the last look at the queue: a submission arriving after
        # it starts a drain of its own, so no item is ever left without one.
        try:
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                await self._settle(batch)
        finally:
            self._draining -= 1

    async def _settle(self, batch: list[_Waiting[T, R]]) -> None:
        try:
            outcomes = await self._write([waiting.item for waiting in batch])
        except asyncio.CancelledError:
            self._fail(batch, StorageError("the bridge is shutting down"))
            raise
        except StorageError as exc:
            _log.warning(f"{self._name}.batch_failed", items=len(batch), error=str(exc))
            self._fail(batch, exc)
            return
        except Exception as exc:  # the queue must outlive any failure; each waiter gets it
            _log.exception(f"{self._name}.batch_failed", items=len(batch))
            self._fail(batch, exc)
            return
        for waiting, outcome in zip(batch, outcomes, strict=True):
            if waiting.outcome.done():  # its submitter gave up (cancelled)
                continue
            if isinstance(outcome, Failed):
                waiting.outcome.set_exception(outcome.error)
            else:
                waiting.outcome.set_result(outcome)

    @staticmethod
    def _fail(batch: list[_Waiting[T, R]], error: Exception) -> None:
        for waiting in batch:
            if not waiting.outcome.done():
                waiting.outcome.set_exception(error)


def shared_transaction(
    transaction: Callable[[], AbstractAsyncContextManager[AsyncSession]],
    write: BatchInSession[T, R],
) -> BatchWriter[T, R]:
    """A batch writer running ``write`` over the whole batch in one shared transaction.

    If ``write`` raises, that transaction rolls back as a whole and each item runs again in a transaction
    of its own, so only the failing one fails. Failures are rare (bad input caught inside the
    transaction), and this costs no savepoint statements per item on the common path. So ``write`` must
    touch nothing but its session: an item may be written twice, the first time rolled back.
    Database errors reach the item as ``StorageError`` (from ``transaction``).
    """

    async def write_batch(batch: list[T]) -> list[R | Failed]:
        if len(batch) > 1:
            try:
                async with transaction() as session:
                    return list(await write(session, batch))
            except Exception as exc:  # an item (or the commit) failed: retry one by one to tell which
                _log.debug("group_commit.split", items=len(batch), error=str(exc))
        alone: list[R | Failed] = []
        for item in batch:
            try:
                async with transaction() as session:
                    alone.extend(await write(session, [item]))
            except Exception as exc:  # this item's own failure, delivered to its submitter
                alone.append(Failed(exc))
        return alone

    return write_batch
