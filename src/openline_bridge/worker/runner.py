"""The worker process part: portal leases, one dispatching task per owned portal, graceful stop.

Every ``sweep_interval`` the worker cancels the jobs of uninstalled portals and claims the lease of every
free portal (up to ``max_portals``); a portal's task renews its lease before each round, re-probes parked
work every ``reprobe_interval``, and sleeps ``poll_interval`` when idle unless :meth:`Worker.wake` is
called. :meth:`Worker.stop` lets in-flight rounds finish, then releases the leases, so another worker
takes over at once; a worker that dies instead frees its portals when the leases expire (``lease_ttl``),
and the next owner takes over the jobs it held at once rather than when their locks expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from datetime import datetime

from openline_bridge.bitrix24.client import Bitrix24Client
from openline_bridge.errors import PortalNotFound
from openline_bridge.ids import new_owner_id
from openline_bridge.logging import get_logger
from openline_bridge.relay.files import FileSigner
from openline_bridge.relay.notify import Notifier
from openline_bridge.store import leases, outbox
from openline_bridge.store.database import Database
from openline_bridge.store.types import utc_now
from openline_bridge.worker.config import WorkerConfig
from openline_bridge.worker.dispatch import PortalDispatcher
from openline_bridge.worker.handlers import Env
from openline_bridge.worker.parking import reprobe

__all__ = ["Worker"]

_log = get_logger(__name__)
_ERROR_PAUSE = 2.0  # seconds a portal's task waits after an unexpected failure before trying again
UNINSTALLED_REASON = "cancelled: the portal uninstalled the app"


class Worker:
    """Dispatches the outbox of every portal it holds a lease for; run with :meth:`run`."""

    def __init__(
        self,
        *,
        database: Database,
        client: Bitrix24Client,
        notifier: Notifier,
        signer: FileSigner,
        config: WorkerConfig,
        clock: Callable[[], datetime] = utc_now,
        owner: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._database = database
        self._client = client
        self._notifier = notifier
        self._config = config
        self._env = Env(connector_id=config.connector_id, signer=signer, clock=clock)
        self.owner = owner or new_owner_id()
        self._rng = rng or random.Random()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._stopping = asyncio.Event()
        self._finished = asyncio.Event()
        self._wakeup = asyncio.Event()

    @property
    def portal_ids(self) -> list[int]:
        """Portals this worker currently drives."""
        return sorted(self._tasks)

    def wake(self) -> None:
        """New work was enqueued: idle portals look again now rather than after ``poll_interval``."""
        current, self._wakeup = self._wakeup, asyncio.Event()
        current.set()

    def request_stop(self) -> None:
        """Ask :meth:`run` to finish (safe from a signal handler)."""
        self._stopping.set()
        self.wake()

    async def stop(self) -> None:
        """Stop and wait until in-flight rounds have finished and the leases are released."""
        self.request_stop()
        await self._finished.wait()

    async def run(self) -> None:
        """Work until :meth:`stop`."""
        try:
            while not self._stopping.is_set():
                try:
                    await self._sweep()
                except Exception:
                    _log.exception("worker.sweep_failed", owner=self.owner)
                await self._pause(self._config.sweep_interval)
        finally:
            # also on cancellation (the app's shutdown): let in-flight rounds finish, release the leases
            self._stopping.set()
            self.wake()
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
            self._finished.set()

    async def _pause(self, seconds: float) -> None:
        wakeup = self._wakeup
        if self._stopping.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wakeup.wait(), timeout=seconds)

    async def _sweep(self) -> None:
        now = self._env.clock()
        async with self._database.transaction() as session:
            cancelled = await outbox.cancel_uninstalled(session, UNINSTALLED_REASON, now)
        if cancelled:
            _log.info("worker.jobs_cancelled", jobs=cancelled, reason="uninstalled")
        self._tasks = {portal: task for portal, task in self._tasks.items() if not task.done()}
        async with self._database.transaction() as session:
            free = await leases.free_portal_ids(session, now)
        for portal_id in free:
            if len(self._tasks) >= self._config.max_portals or self._stopping.is_set():
                break
            if portal_id in self._tasks:
                continue
            async with self._database.transaction() as session:
                claimed = await leases.claim(session, portal_id, self.owner, now, self._config.lease_ttl)
                taken_over = await outbox.take_over(session, portal_id, self.owner, now) if claimed else 0
            if taken_over:
                _log.info("worker.jobs_taken_over", portal_id=portal_id, jobs=taken_over, owner=self.owner)
            if claimed:
                self._tasks[portal_id] = asyncio.create_task(self._drive(portal_id))

    async def _drive(self, portal_id: int) -> None:
        _log.info("worker.portal_taken", portal_id=portal_id, owner=self.owner)
        try:
            await self._drive_until_stopped(portal_id)
        finally:
            try:
                async with self._database.transaction() as session:
                    await leases.release(session, portal_id, self.owner)
            except Exception:  # the lease then simply expires
                _log.exception("worker.lease_release_failed", portal_id=portal_id)
            _log.info("worker.portal_released", portal_id=portal_id, owner=self.owner)

    async def _drive_until_stopped(self, portal_id: int) -> None:
        async with self._database.transaction() as session:
            member_id = await leases.installed_member_id(session, portal_id)
        if member_id is None:
            return
        caller = self._client.for_portal(member_id)
        dispatcher = PortalDispatcher(
            database=self._database,
            notifier=self._notifier,
            caller=caller,
            portal_id=portal_id,
            owner=self.owner,
            env=self._env,
            config=self._config,
            rng=self._rng,
        )
        probed_at = float("-inf")
        while not self._stopping.is_set():
            try:
                async with self._database.transaction() as session:
                    held = await leases.renew(
                        session, portal_id, self.owner, self._env.clock(), self._config.lease_ttl
                    )
                if not held:
                    _log.warning("worker.lease_lost", portal_id=portal_id, owner=self.owner)
                    return
                if time.monotonic() - probed_at >= self._config.reprobe_interval:
                    probed_at = time.monotonic()
                    granted = await reprobe(
                        self._database, caller, portal_id, self._config.connector_id, self._env.clock()
                    )
                    dispatcher.auth_revoked = dispatcher.auth_revoked and not granted
                if await dispatcher.run_round() == 0:
                    await self._pause(self._config.poll_interval)
            except PortalNotFound:
                # the token store no longer knows it: uninstalled meanwhile; the sweep cancels its jobs
                return
            except Exception:
                _log.exception("worker.round_failed", portal_id=portal_id)
                await self._pause(_ERROR_PAUSE)
