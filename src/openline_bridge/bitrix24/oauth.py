"""Refreshing a portal's access token, once, even when many callers notice the expiry together.

Bitrix24 rotates the refresh token on every refresh (contract §5.1), so two concurrent refreshes with
the same refresh token burn the chain (pitfall P27). :class:`TokenRefresher` therefore collapses
refreshes per portal in process (one asyncio lock per portal) and across processes (the token store's
``refresh_guard``), and re-reads the stored tokens before refreshing: if someone else already replaced
the rejected access token, their result is used.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from openline_bridge.bitrix24.auth import ClientSecretLookup, PortalTokens, TokenStore
from openline_bridge.bitrix24.errors import (
    AuthRevokedError,
    Bitrix24Error,
    PermanentError,
    RetryableError,
    error_from_envelope,
    json_or_none,
    transport_failure,
)
from openline_bridge.logging import get_logger

__all__ = ["RefreshedTokens", "TokenRefresher", "oauth_base_url", "request_refresh"]

_log = get_logger(__name__)


class _HideOAuthQuery(logging.Filter):
    """Cut the query off URLs in httpx's request log lines.

    contract §5.2: the refresh is a GET whose query carries ``client_secret`` and ``refresh_token``, and
    httpx logs every request URL at INFO; without this the secrets would reach the logs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(arg, httpx.URL) for arg in record.args):
            record.args = tuple(
                arg.copy_with(query=None) if isinstance(arg, httpx.URL) and arg.query else arg
                for arg in record.args
            )
        return True


_httpx_log = logging.getLogger("httpx")
if not any(isinstance(existing, _HideOAuthQuery) for existing in _httpx_log.filters):
    _httpx_log.addFilter(_HideOAuthQuery())

# A stored token this close to its expiry is treated as expired: it would die in flight.
_EXPIRY_MARGIN_SECONDS = 30.0


@dataclass(frozen=True)
class RefreshedTokens:
    """The fields of contract §5.2's refresh response that the bridge keeps."""

    access_token: str
    refresh_token: str
    expires_at: float

    def __repr__(self) -> str:
        return f"RefreshedTokens(expires_at={self.expires_at!r})"


def oauth_base_url(server_endpoint: str, configured: str | None = None) -> str:
    """The OAuth server to refresh with: the configured one, else the host of ``server_endpoint``.

    contract §5.1/§14.12: the region's OAuth host arrives in ``server_endpoint`` (``https://host/rest/``).
    """
    if configured:
        return configured.rstrip("/")
    url = httpx.URL(server_endpoint)
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}"


async def request_refresh(
    http: httpx.AsyncClient,
    base_url: str,
    *,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    now: float,
) -> RefreshedTokens:
    """One ``GET <oauth>/oauth/token/?grant_type=refresh_token…`` (contract §5.2)."""
    params = {
        "grant_type": "refresh_token",
        "client_id": client_id,
        "client_secret": client_secret,
        "refresh_token": refresh_token,
    }
    try:
        response = await http.get(f"{base_url}/oauth/token/", params=params)
    except httpx.TransportError as exc:
        raise transport_failure(exc) from exc
    body = json_or_none(response)
    if isinstance(body, Mapping) and body.get("error"):
        # contract §5.3: invalid_grant, invalid_client, PAYMENT_REQUIRED… arrive as {error, …}.
        raise error_from_envelope(body, status=response.status_code)
    if response.status_code >= 500:
        raise RetryableError("OAUTH_UNAVAILABLE", "OAuth server failed", status=response.status_code)
    if response.status_code != 200 or not isinstance(body, Mapping):
        raise PermanentError(
            "OAUTH_UNEXPECTED_ANSWER", "no token in the OAuth answer", status=response.status_code
        )
    return _refreshed_from(body, now)


def _refreshed_from(body: Mapping[str, Any], now: float) -> RefreshedTokens:
    access_token = body.get("access_token")
    refresh_token = body.get("refresh_token")
    if not isinstance(access_token, str) or not isinstance(refresh_token, str):
        raise PermanentError("OAUTH_UNEXPECTED_ANSWER", "refresh answer lacks a token pair")
    expires = body.get("expires")
    expires_in = body.get("expires_in")
    if isinstance(expires, int | float) and not isinstance(expires, bool):
        expires_at = float(expires)
    elif isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
        expires_at = now + float(expires_in)
    else:
        expires_at = now + 3600.0  # contract §5.1: access tokens live one hour
    return RefreshedTokens(access_token, refresh_token, expires_at)


class TokenRefresher:
    """Turns "this access token was refused" into a working token, refreshing at most once per expiry."""

    def __init__(
        self,
        store: TokenStore,
        client_secret: ClientSecretLookup,
        http: httpx.AsyncClient,
        *,
        oauth_url: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._client_secret = client_secret
        self._http = http
        self._oauth_url = oauth_url
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}

    async def replace(self, member_id: str, rejected_access_token: str) -> PortalTokens:
        """Tokens whose access token is not ``rejected_access_token``, refreshing only if nobody else has."""
        lock = self._locks.setdefault(member_id, asyncio.Lock())
        async with lock:
            stored = await self._store.load(member_id)
            if self._usable(stored, rejected_access_token):
                return stored
            async with self._store.refresh_guard(member_id) as guarded:
                if self._usable(guarded, rejected_access_token):
                    return guarded
                return await self._refresh(guarded)

    def _usable(self, tokens: PortalTokens, rejected_access_token: str) -> bool:
        return (
            tokens.access_token != rejected_access_token
            and tokens.expires_at > self._clock() + _EXPIRY_MARGIN_SECONDS
        )

    async def _refresh(self, tokens: PortalTokens) -> PortalTokens:
        started = time.perf_counter()
        try:
            secret = await self._client_secret(tokens.client_id)
        except KeyError as exc:
            raise AuthRevokedError("invalid_client", "no client secret configured for this app") from exc
        try:
            refreshed = await request_refresh(
                self._http,
                oauth_base_url(tokens.server_endpoint, self._oauth_url),
                client_id=tokens.client_id,
                client_secret=secret,
                refresh_token=tokens.refresh_token,
                now=self._clock(),
            )
        except Bitrix24Error as exc:
            _log.warning(
                "bitrix24.oauth.refresh_failed",
                member_id=tokens.member_id,
                code=exc.code,
                status=exc.status,
            )
            raise
        await self._store.save_refreshed(
            tokens.member_id, refreshed.access_token, refreshed.refresh_token, refreshed.expires_at
        )
        _log.info(
            "bitrix24.oauth.refreshed",
            member_id=tokens.member_id,
            duration_ms=round((time.perf_counter() - started) * 1000),
        )
        return PortalTokens(
            member_id=tokens.member_id,
            client_id=tokens.client_id,
            client_endpoint=tokens.client_endpoint,
            server_endpoint=tokens.server_endpoint,
            access_token=refreshed.access_token,
            refresh_token=refreshed.refresh_token,
            expires_at=refreshed.expires_at,
        )
