"""The running sandbox: settings, the current portal, and its life cycle (start, reset, stop)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

from b24sandbox.portal import Portal
from b24sandbox.snapshot import dump_state, load_state


@dataclass
class SandboxSettings:
    """How a sandbox process presents itself."""

    domain: str  # host:port the portal reports (client_endpoint, events)
    protocol: str = "http"
    oauth_host: str | None = None  # None = the portal's own host serves OAuth too
    event_delay: float = 0.0
    member_id: str | None = None
    # Restored at start when the file exists, written at stop (`b24sandbox serve --state FILE`).
    state_file: str | None = None


class Sandbox:
    """Holds the current portal; `reset` replaces it with a fresh one (same settings)."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.portal = self.new_portal()

    def new_portal(self) -> Portal:
        """A fresh portal configured from the settings."""
        s = self.settings
        portal = Portal(domain=s.domain, protocol=s.protocol, member_id=s.member_id, oauth_host=s.oauth_host)
        portal.bus.delay = s.event_delay
        return portal

    async def start(self) -> None:
        """Restore the state file if there is one, then start background work (event senders)."""
        state = self.settings.state_file
        if state is not None and await asyncio.to_thread(Path(state).exists):
            text = await asyncio.to_thread(Path(state).read_text, encoding="utf-8")
            self.portal = load_state(json.loads(text))
            self.portal.bus.delay = self.settings.event_delay
        await self.portal.bus.start()

    async def stop(self) -> None:
        """Stop background work and write the state file if one is configured."""
        await self.portal.bus.stop()
        if self.settings.state_file:
            text = json.dumps(dump_state(self.portal))
            await asyncio.to_thread(Path(self.settings.state_file).write_text, text, encoding="utf-8")

    async def replace_portal(self, portal: Portal) -> None:
        """Swap in another portal (reset, restore); events still queued for the old one are dropped."""
        old, self.portal = self.portal, portal
        await old.bus.stop()
        await portal.bus.start()

    async def reset(self) -> None:
        """Forget everything: a fresh portal with the configured settings."""
        await self.replace_portal(self.new_portal())
