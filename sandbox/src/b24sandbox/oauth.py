"""OAuth tokens of the sandbox: the portal is also its own authorization server (contract §5).

Access tokens are 32 hex characters and expire after `lifetime` seconds on the sandbox clock.
Refresh tokens live 180 days and rotate: a refresh answers a new pair and kills the old refresh
token (contract §5.1). Authorization codes live 30 s.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from typing import Any

from b24sandbox.clock import Clock
from b24sandbox.errors import OAuthError, expired_token, invalid_token

ACCESS_LIFETIME = 3600  # contract §5.1
REFRESH_LIFETIME = 180 * 24 * 3600  # contract §5.1: 180 days
CODE_LIFETIME = 30  # contract §5.1
# Expired access tokens are kept a day (so they answer expired_token, not invalid_token), then
# dropped; every event mints a token, so a long benchmark would otherwise grow without bound.
PURGE_AFTER = 24 * 3600
PURGE_EVERY = 4096


@dataclass
class AccessToken:
    """An access token of one app acting as one user."""

    token: str
    client_id: str
    user_id: int
    expires: float


@dataclass
class RefreshToken:
    """A refresh token; valid until used once or expired."""

    token: str
    client_id: str
    user_id: int
    expires: float


@dataclass(frozen=True)
class TokenPair:
    """What a grant (install, refresh, code exchange) hands out."""

    access: AccessToken
    refresh: RefreshToken
    lifetime: int


def _new_token() -> str:
    return secrets.token_hex(16)


class TokenStore:
    """Every live token and authorization code of one portal."""

    def __init__(self, clock: Clock, lifetime: int = ACCESS_LIFETIME) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self._access: dict[str, AccessToken] = {}
        self._refresh: dict[str, RefreshToken] = {}
        self._codes: dict[str, RefreshToken] = {}
        self._mints = 0

    def mint_access(self, client_id: str, user_id: int) -> AccessToken:
        """A fresh access token alone (event `auth` blocks never carry a refresh token, §7.4)."""
        now = self.clock.now()
        self._mints += 1
        if self._mints % PURGE_EVERY == 0:
            self._access = {k: t for k, t in self._access.items() if t.expires + PURGE_AFTER > now}
        token = AccessToken(_new_token(), client_id, user_id, now + self.lifetime)
        self._access[token.token] = token
        return token

    def issue(self, client_id: str, user_id: int) -> TokenPair:
        """A new access + refresh token pair."""
        refresh = RefreshToken(_new_token(), client_id, user_id, self.clock.now() + REFRESH_LIFETIME)
        self._refresh[refresh.token] = refresh
        return TokenPair(self.mint_access(client_id, user_id), refresh, self.lifetime)

    def resolve(self, token: str) -> AccessToken:
        """The live access token `token`, or the 401 of contract §5.4."""
        found = self._access.get(token)
        if found is None:
            raise invalid_token()
        if found.expires <= self.clock.now():
            raise expired_token()
        return found

    def refresh(self, client_id: str, refresh_token: str) -> TokenPair:
        """Rotate: the old refresh token is spent, a new pair is issued (contract §5.1)."""
        found = self._refresh.get(refresh_token)
        if found is None or found.client_id != client_id or found.expires <= self.clock.now():
            raise OAuthError("invalid_grant", "Invalid refresh token")
        del self._refresh[refresh_token]
        return self.issue(client_id, found.user_id)

    def new_code(self, client_id: str, user_id: int) -> str:
        """An authorization code for the full OAuth flow (30 s life, contract §5.1)."""
        code = RefreshToken(_new_token(), client_id, user_id, self.clock.now() + CODE_LIFETIME)
        self._codes[code.token] = code
        return code.token

    def redeem_code(self, client_id: str, code: str) -> TokenPair:
        """Exchange a code once for a token pair."""
        found = self._codes.pop(code, None)
        if found is None or found.client_id != client_id or found.expires <= self.clock.now():
            raise OAuthError("invalid_grant", "Invalid authorization code")
        return self.issue(client_id, found.user_id)

    def expire_all(self) -> int:
        """Make every access token expired now; returns how many there were."""
        now = self.clock.now()
        for token in self._access.values():
            token.expires = min(token.expires, now)
        return len(self._access)

    def forget_app(self, client_id: str) -> None:
        """Drop every token and code of an app (uninstall)."""
        for table in (self._access, self._refresh, self._codes):
            for key in [k for k, v in table.items() if v.client_id == client_id]:
                del table[key]

    def to_json(self) -> dict[str, Any]:
        """Serializable state for snapshots."""
        return {
            "lifetime": self.lifetime,
            "access": [asdict(t) for t in self._access.values()],
            "refresh": [asdict(t) for t in self._refresh.values()],
        }

    def load_json(self, state: dict[str, Any]) -> None:
        """Replace the state with a snapshot made by `to_json`."""
        self.lifetime = int(state["lifetime"])
        self._access = {t["token"]: AccessToken(**t) for t in state["access"]}
        self._refresh = {t["token"]: RefreshToken(**t) for t in state["refresh"]}
        self._codes = {}

