"""The background task that applies lifecycle events recorded in the inbox (``relay.lifecycle``).

It wakes when this process records an event (``Services.inbox_wakeup``) and also polls, so events
recorded by other bridge processes are picked up too. Events are claimed with the inbox repository's
claim, so two processes never apply one event twice; a processor that dies leaves its claim to expire
and another takes the event over. Message and dialog events are never claimed here: they stay pending
for the messaging engine.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from openline_bridge.bitrix24.events import parse_event
from openline_bridge.errors import BridgeError
from openline_bridge.ids import new_owner_id
from openline_bridge.logging import get_logger
from openline_bridge.relay.lifecycle import MESSAGING_EVENTS, handle_lifecycle_event
from openline_bridge.services import Services
from openline_bridge.store import inbox, portal_errors
from openline_bridge.store.inbox import InboxItem
from openline_bridge.store.types import utc_now

__all__ = ["InboxProcessor"]

_log = get_logger(__name__)


class InboxProcessor:
    """Claims and applies lifecycle events until stopped."""

    def __init__(
        self,
        services: Services,
        *,
        poll_interval: float = 5.0,
        batch_size: int = 50,
        lock_for: timedelta = timedelta(minutes=1),
    ) -> None:
        self._services = services
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._lock_for = lock_for
        self.owner = new_owner_id()

    async def run(self) -> None:
        """Process until cancelled; a failing round is logged and retried after the poll interval."""
        wakeup = self._services.inbox_wakeup
        while True:
            wakeup.clear()
            try:
                while await self.process_once() == self._batch_size:
                    pass  # a full batch: there may be more right away
            except Exception:  # a supervisor loop: one bad round must not stop the task
                _log.exception("inbox.round_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), self._poll_interval)

    async def process_once(self) -> int:
        """Claim one batch and apply it; how many events were claimed."""
        async with self._services.database.transaction() as session:
            items = await inbox.claim(
                session,
                self.owner,
                utc_now(),
                limit=self._batch_size,
                lock_for=self._lock_for,
                skip_event_names=MESSAGING_EVENTS,
            )
        for item in items:
            await self._apply(item)
        return len(items)

    async def _apply(self, item: InboxItem) -> None:
        services = self._services
        try:
            event = parse_event(item.payload)
            await handle_lifecycle_event(
                services.database, item.portal_id, event, services.settings.connector_id, utc_now()
            )
        except BridgeError as exc:  # includes a payload that no longer parses
            _log.warning("inbox.event_failed", inbox_id=item.id, event_name=item.event_name, error=str(exc))
            async with services.database.transaction() as session:
                await inbox.mark_failed(session, item.id, self.owner, str(exc), utc_now())
                origin = "inbox." + item.event_name.lower()
                await portal_errors.record(
                    session, item.portal_id, origin, type(exc).__name__, str(exc), utc_now()
                )
            return
        async with services.database.transaction() as session:
            # False when the event went with its portal (uninstall with CLEAN): nothing left to mark.
            await inbox.mark_processed(session, item.id, self.owner, utc_now())
