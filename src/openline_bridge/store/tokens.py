"""The REST client's token store, backed by the ``portals`` table (``bitrix24.auth.TokenStore``).

Refresh tokens rotate on every refresh (contract §5.1): two processes refreshing at once would burn the
chain (pitfall P27). ``refresh_guard`` therefore serialises refreshes of one portal across processes with a
lease on the portal row, claimed by an atomic conditional ``UPDATE``: no transaction (and no row lock)
stays open during the OAuth call, and a holder that dies frees the guard when the lease expires.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update

from openline_bridge.bitrix24.auth import PortalTokens
from openline_bridge.crypto import SecretBox
from openline_bridge.errors import LeaseTimeout, PortalNotFound
from openline_bridge.ids import new_owner_id
from openline_bridge.store.database import Database
from openline_bridge.store.models import InstallState, Portal
from openline_bridge.store.types import utc_now

__all__ = ["DatabaseTokenStore"]


class DatabaseTokenStore:
    """Tokens sealed in ``portals``; implements ``openline_bridge.bitrix24.auth.TokenStore``."""

    def __init__(
        self,
        database: Database,
        secret_box: SecretBox,
        *,
        lease: timedelta = timedelta(seconds=30),
        wait_limit: timedelta = timedelta(seconds=40),
        poll_interval: float = 0.05,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._database = database
        self._box = secret_box
        self._lease = lease  # longer than one OAuth round trip with its timeout
        self._wait_limit = wait_limit  # longer than the lease, so a dead holder's lease expires first
        self._poll_interval = poll_interval
        self._clock = clock

    async def load(self, member_id: str) -> PortalTokens:
        """The portal's tokens as stored now; ``PortalNotFound`` if it is unknown or uninstalled."""
        async with self._database.transaction() as session:
            row = await session.scalar(
                select(Portal).where(
                    Portal.member_id == member_id, Portal.install_state != InstallState.UNINSTALLED
                )
            )
            if row is None:
                raise PortalNotFound(member_id)
            return PortalTokens(
                member_id=row.member_id,
                client_id=row.client_id,
                client_endpoint=row.client_endpoint,
                server_endpoint=row.server_endpoint,
                access_token=self._box.open(row.access_token_sealed),
                refresh_token=self._box.open(row.refresh_token_sealed),
                expires_at=row.access_expires_at.timestamp(),
            )

    async def _try_acquire(self, member_id: str, owner: str) -> bool:
        now = self._clock()
        async with self._database.transaction() as session:
            result = await session.execute(
                update(Portal)
                .where(
                    Portal.member_id == member_id,
                    or_(Portal.refresh_lease_expires_at.is_(None), Portal.refresh_lease_expires_at <= now),
                )
                .values(refresh_lease_owner=owner, refresh_lease_expires_at=now + self._lease)
                .returning(Portal.id)
            )
            return result.scalar() is not None

    async def _release(self, member_id: str, owner: str) -> None:
        async with self._database.transaction() as session:
            await session.execute(
                update(Portal)
                .where(Portal.member_id == member_id, Portal.refresh_lease_owner == owner)
                .values(refresh_lease_owner=None, refresh_lease_expires_at=None)
            )

    @asynccontextmanager
    async def refresh_guard(self, member_id: str) -> AsyncIterator[PortalTokens]:
        """Hold the portal's refresh lease; yield the tokens as stored once it is held.

        A waiter that gets the guard after another holder refreshed sees the new tokens and can skip its own
        refresh. Raises ``LeaseTimeout`` if the guard stays taken past the wait limit, ``PortalNotFound`` if
        the portal does not exist.
        """
        tokens = await self.load(member_id)  # fail fast for an unknown portal instead of waiting
        owner = new_owner_id()
        deadline = time.monotonic() + self._wait_limit.total_seconds()
        while not await self._try_acquire(member_id, owner):
            if time.monotonic() >= deadline:
                raise LeaseTimeout(f"token refresh of portal {member_id!r} is held by another process")
            await asyncio.sleep(self._poll_interval)
        try:
            tokens = await self.load(member_id)
            yield tokens
        finally:
            await self._release(member_id, owner)

    async def save_refreshed(
        self, member_id: str, access_token: str, refresh_token: str, expires_at: float
    ) -> None:
        """Replace both tokens in one statement (the old refresh token is already spent, pitfall P27)."""
        now = self._clock()
        async with self._database.transaction() as session:
            result = await session.execute(
                update(Portal)
                .where(Portal.member_id == member_id)
                .values(
                    access_token_sealed=self._box.seal(access_token),
                    refresh_token_sealed=self._box.seal(refresh_token),
                    access_expires_at=datetime.fromtimestamp(expires_at, UTC),
                    updated_at=now,
                )
                .returning(Portal.id)
            )
            if result.scalar() is None:
                raise PortalNotFound(member_id)

    async def save_client_endpoint(self, member_id: str, client_endpoint: str, domain: str) -> None:
        """Store the portal's new REST base and domain after a domain change (pitfall P28)."""
        now = self._clock()
        async with self._database.transaction() as session:
            result = await session.execute(
                update(Portal)
                .where(Portal.member_id == member_id)
                .values(client_endpoint=client_endpoint, domain=domain, updated_at=now)
                .returning(Portal.id)
            )
            if result.scalar() is None:
                raise PortalNotFound(member_id)
