"""A portal's OAuth tokens and the storage contract the REST client relies on.

The database-backed implementation lives in ``openline_bridge.store.tokens``; this module only says
what the Bitrix24 layer needs from it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

__all__ = ["ClientSecretLookup", "PortalTokens", "TokenStore"]


@dataclass(frozen=True)
class PortalTokens:
    """Everything needed to call one portal: endpoints, the app's client id and the current token pair."""

    member_id: str
    client_id: str
    client_endpoint: str
    server_endpoint: str
    access_token: str
    refresh_token: str
    expires_at: float  # unix seconds

    def __repr__(self) -> str:
        # Tokens never reach logs or tracebacks (STYLE.md house rules).
        return f"PortalTokens(member_id={self.member_id!r}, client_endpoint={self.client_endpoint!r})"


class TokenStore(Protocol):
    """Where tokens live; implementations must make ``refresh_guard`` exclusive across processes."""

    async def load(self, member_id: str) -> PortalTokens:
        """The tokens as stored now."""

    def refresh_guard(self, member_id: str) -> AbstractAsyncContextManager[PortalTokens]:
        """Cross-process mutual exclusion; yields the tokens as stored after acquiring it."""

    async def save_refreshed(
        self, member_id: str, access_token: str, refresh_token: str, expires_at: float
    ) -> None:
        """Store a rotated token pair (called inside ``refresh_guard``)."""

    async def save_client_endpoint(self, member_id: str, client_endpoint: str, domain: str) -> None:
        """Store the portal's new REST base after a domain change (contract §2.1, pitfall P28)."""


# client_id → client_secret. Local apps get a secret per portal (contract §6.1), so this may hit storage.
ClientSecretLookup = Callable[[str], Awaitable[str]]
