"""The background task that applies message and dialog events from the inbox (``relay.operator_inbound``).

The lifecycle processor (``inbox_processor``) leaves these events pending; this one claims only them, in inbox
order, and applies them a few per transaction (``operator_inbound.process_batch``), so one process applies an
operator message before its edit and a burst of operator messages shares its commits. It wakes when told (the
events endpoint sets ``wakeup`` after recording) and also polls, for events recorded by other bridge
processes. Every ``maintenance_interval`` it also retries operator files that could not be downloaded and
removes uploads no message took (protocol §6.8).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta

from openline_bridge.errors import BridgeError
from openline_bridge.ids import new_owner_id
from openline_bridge.logging import get_logger
from openline_bridge.relay import operator_inbound
from openline_bridge.relay.context import Relay
from openline_bridge.relay.downloads import OperatorFiles
from openline_bridge.relay.lifecycle import MESSAGING_EVENTS
from openline_bridge.relay.uploads import purge_unbound_uploads
from openline_bridge.store import inbox

__all__ = ["MessagingInbox"]

_log = get_logger(__name__)


class MessagingInbox:
    """Claims and applies message and dialog events until cancelled."""

    def __init__(
        self,
        relay: Relay,
        files: OperatorFiles,
        wakeup: asyncio.Event,
        *,
        poll_interval: float = 1.0,
        batch_size: int = 50,
        lock_for: timedelta = timedelta(minutes=2),
        maintenance_interval: float = 60.0,
    ) -> None:
        self._relay = relay
        self._files = files
        self._wakeup = wakeup
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._lock_for = lock_for
        self._maintenance_interval = maintenance_interval
        self.owner = new_owner_id()

    async def run(self) -> None:
        """Process until cancelled; a failing round is logged and retried after the poll interval."""
        maintained_at = time.monotonic()
        while True:
            self._wakeup.clear()
            try:
                while await self.process_once() == self._batch_size:
                    pass  # a full batch: there may be more right away
                if time.monotonic() - maintained_at >= self._maintenance_interval:
                    maintained_at = time.monotonic()
                    await self.maintain()
            except BridgeError as exc:
                _log.warning("relay.inbox_round_failed", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._poll_interval)

    async def maintain(self) -> None:
        """Retry unavailable operator files and purge stale unbound uploads."""
        fetched = await operator_inbound.retry_unavailable_files(self._relay, self._files)
        purged = await purge_unbound_uploads(self._relay)
        if fetched or purged:
            _log.info("relay.maintenance", files_fetched=fetched, uploads_purged=purged)

    async def process_once(self) -> int:
        """Claim one batch of message and dialog events and apply them in order; how many were claimed."""
        async with self._relay.database.transaction() as session:
            items = await inbox.claim(
                session,
                self.owner,
                self._relay.clock(),
                limit=self._batch_size,
                lock_for=self._lock_for,
                only_event_names=MESSAGING_EVENTS,
            )
        if items:
            await operator_inbound.process_batch(self._relay, self._files, items, self.owner)
        return len(items)
