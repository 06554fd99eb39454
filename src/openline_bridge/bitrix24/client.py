"""The async REST client: one way to call a portal, with its rate limit, token refresh and domain moves.

A call is a JSON ``POST <client_endpoint><method>.json`` with ``auth`` in the body (contract §2.1, §13).
Around it: the portal's leaky bucket before every request (§4), one refresh-and-retry on
``expired_token`` (§5.4), one store-and-retry on a 302 to a new domain (§2.1, pitfall P28; redirects are
never followed blindly), and every other outcome mapped by :func:`~.errors.classify`. Logs carry the
method, portal, status and duration, never tokens or parameters.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

import httpx

from openline_bridge import __version__
from openline_bridge.bitrix24.auth import ClientSecretLookup, PortalTokens, TokenStore
from openline_bridge.bitrix24.errors import (
    Bitrix24Error,
    DomainMovedError,
    RetryableError,
    TokenExpiredError,
    classify,
    error_from_envelope,
    json_or_none,
    transport_failure,
)
from openline_bridge.bitrix24.formdata import encode_php_query
from openline_bridge.bitrix24.oauth import TokenRefresher
from openline_bridge.bitrix24.ratelimit import PortalRateLimiter
from openline_bridge.logging import get_logger

__all__ = [
    "MAX_BATCH_COMMANDS",
    "BatchResult",
    "Bitrix24Client",
    "PortalCaller",
    "RestCaller",
    "RestResponse",
    "Timeouts",
    "TokenCaller",
    "run_batch",
]

_log = get_logger(__name__)

# contract §3: at most 50 sub-calls per batch.
MAX_BATCH_COMMANDS = 50


@dataclass(frozen=True)
class Timeouts:
    """Per-call limits; defaults are the official SDK's (contract §13), below the portal's 60 s (§4)."""

    connect: float = 3.05
    read: float = 10.0

    def as_httpx(self) -> httpx.Timeout:
        """The same limits in httpx's terms (writing counts as reading, pool waits as connecting)."""
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.read, pool=self.connect)


@dataclass(frozen=True)
class RestResponse:
    """A successful call: the method's ``result`` plus the optional list and timing fields (§2.2)."""

    result: Any
    total: int | None = None
    next: int | None = None
    time: Mapping[str, Any] | None = None


class RestCaller(Protocol):
    """Something that calls REST methods of one portal with some credentials."""

    async def call(
        self, method: str, params: Mapping[str, Any] | None = None, *, timeouts: Timeouts | None = None
    ) -> RestResponse:
        """Call ``method`` and return its result, or raise a :class:`~.errors.Bitrix24Error`."""


class Bitrix24Client:
    """Calls portals on behalf of the app, using the tokens in a :class:`~.auth.TokenStore`."""

    def __init__(
        self,
        store: TokenStore,
        client_secret: ClientSecretLookup,
        limiter: PortalRateLimiter,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeouts: Timeouts = Timeouts(),
        oauth_url: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._limiter = limiter
        self._timeouts = timeouts
        self._operating_reset_at: dict[tuple[str, str], float] = {}  # (portal, method) → unix time
        self._http = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            timeout=timeouts.as_httpx(),
            headers={"User-Agent": f"openline-bridge/{__version__}", "Accept": "application/json"},
        )
        self.refresher = TokenRefresher(store, client_secret, self._http, oauth_url=oauth_url, clock=clock)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Bitrix24Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def for_portal(self, member_id: str) -> PortalCaller:
        """A caller using the portal's stored (installer's) tokens."""
        return PortalCaller(self, member_id)

    def for_token(self, member_id: str, client_endpoint: str, access_token: str) -> TokenCaller:
        """A caller acting with someone's access token, e.g. the placement page's ``AUTH_ID`` (§10)."""
        return TokenCaller(self, member_id, client_endpoint, access_token)

    async def call(
        self,
        member_id: str,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeouts: Timeouts | None = None,
    ) -> RestResponse:
        """Call ``method`` with the portal's stored tokens (refreshing and following a move once each)."""
        tokens = await self._store.load(member_id)
        refreshed = moved = False
        while True:
            try:
                return await self.send(
                    member_id, tokens.client_endpoint, tokens.access_token, method, params, timeouts=timeouts
                )
            except TokenExpiredError:
                if refreshed:
                    raise
                refreshed = True
                tokens = await self.refresher.replace(member_id, tokens.access_token)
            except DomainMovedError as exc:
                if moved:
                    raise
                moved = True
                tokens = await self._moved(tokens, exc)

    async def batch(
        self,
        member_id: str,
        commands: Mapping[str, tuple[str, Mapping[str, Any]]],
        *,
        halt: bool = False,
    ) -> BatchResult:
        """Run up to 50 calls in one ``batch`` request with the portal's tokens (contract §3)."""
        return await run_batch(self.for_portal(member_id), commands, halt=halt)

    async def send(
        self,
        member_id: str,
        client_endpoint: str,
        access_token: str,
        method: str,
        params: Mapping[str, Any] | None,
        *,
        timeouts: Timeouts | None = None,
    ) -> RestResponse:
        """One request with the given credentials, after waiting for the portal's rate limit."""
        await self._limiter.acquire(member_id)
        body = {**(params or {}), "auth": access_token}
        started = time.perf_counter()
        status: int | None = None
        try:
            response = await self._http.post(
                f"{client_endpoint}{method}.json",
                json=body,
                timeout=(timeouts or self._timeouts).as_httpx(),
            )
        except httpx.TransportError as exc:
            failure = transport_failure(exc)
            self._log_call(member_id, method, status, started, failure)
            raise failure from exc
        status = response.status_code
        payload = json_or_none(response)
        error = classify(status, payload, location=response.headers.get("location"))
        self._log_call(member_id, method, status, started, error)
        if error is not None:
            if error.code == "QUERY_LIMIT_EXCEEDED":
                await self._limiter.note_limit_exceeded(member_id)
            if (
                isinstance(error, RetryableError)
                and error.code == "OPERATION_TIME_LIMIT"
                and error.retry_at is None
            ):
                # contract §2.3/§4: the 429 body has no `time`; the reset time came with earlier successes.
                error.retry_at = self._operating_reset_at.get((member_id, method))
            raise error
        answer = _response_from(payload)
        reset_at = answer.time.get("operating_reset_at") if answer.time else None
        if isinstance(reset_at, int | float) and not isinstance(reset_at, bool):
            self._operating_reset_at[(member_id, method)] = float(reset_at)
        return answer

    async def _moved(self, tokens: PortalTokens, moved: DomainMovedError) -> PortalTokens:
        await self._store.save_client_endpoint(tokens.member_id, moved.client_endpoint, moved.domain)
        _log.warning("bitrix24.portal_moved", member_id=tokens.member_id, domain=moved.domain)
        return replace(tokens, client_endpoint=moved.client_endpoint)

    @staticmethod
    def _log_call(
        member_id: str, method: str, status: int | None, started: float, error: Bitrix24Error | None
    ) -> None:
        _log.info(
            "bitrix24.call",
            member_id=member_id,
            method=method,
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
            error=None if error is None else error.code,
        )


class PortalCaller:
    """Calls one portal with its stored tokens (see :meth:`Bitrix24Client.call`)."""

    def __init__(self, client: Bitrix24Client, member_id: str) -> None:
        self._client = client
        self.member_id = member_id

    async def call(
        self, method: str, params: Mapping[str, Any] | None = None, *, timeouts: Timeouts | None = None
    ) -> RestResponse:
        """Call ``method`` on this portal."""
        return await self._client.call(self.member_id, method, params, timeouts=timeouts)


class TokenCaller:
    """Calls one portal with a given access token; no refresh, no stored redirect (it is not ours)."""

    def __init__(
        self, client: Bitrix24Client, member_id: str, client_endpoint: str, access_token: str
    ) -> None:
        self._client = client
        self.member_id = member_id
        self._client_endpoint = client_endpoint
        self._access_token = access_token

    def __repr__(self) -> str:
        return f"TokenCaller(member_id={self.member_id!r})"

    async def call(
        self, method: str, params: Mapping[str, Any] | None = None, *, timeouts: Timeouts | None = None
    ) -> RestResponse:
        """Call ``method`` with the given token (still through the portal's rate limit)."""
        return await self._client.send(
            self.member_id, self._client_endpoint, self._access_token, method, params, timeouts=timeouts
        )


@dataclass(frozen=True)
class BatchResult:
    """Per-command outcome of a ``batch``; a command in neither map did not run (``halt``)."""

    results: Mapping[str, Any]
    errors: Mapping[str, Bitrix24Error]

    def get(self, key: str) -> Any:
        """The result of command ``key``, or raise its error."""
        if key in self.errors:
            raise self.errors[key]
        if key not in self.results:
            raise KeyError(f"batch command {key!r} did not run")
        return self.results[key]


async def run_batch(
    caller: RestCaller,
    commands: Mapping[str, tuple[str, Mapping[str, Any]]],
    *,
    halt: bool = False,
) -> BatchResult:
    """Run ``{key: (method, params)}`` as one ``batch`` call (contract §3) and split the outcome per key."""
    if not 0 < len(commands) <= MAX_BATCH_COMMANDS:
        raise ValueError(f"a batch takes 1..{MAX_BATCH_COMMANDS} commands, got {len(commands)}")
    cmd = {key: f"{method}?{encode_php_query(params)}" for key, (method, params) in commands.items()}
    response = await caller.call("batch", {"cmd": cmd, "halt": 1 if halt else 0})
    block = response.result if isinstance(response.result, Mapping) else {}
    # contract §3: empty members are PHP empty arrays, serialized as [] rather than {}.
    results = block.get("result")
    errors = block.get("result_error")
    return BatchResult(
        results=dict(results) if isinstance(results, Mapping) else {},
        errors={
            str(key): error_from_envelope(value) if isinstance(value, Mapping) else error_from_envelope({})
            for key, value in (errors.items() if isinstance(errors, Mapping) else ())
        },
    )


def _response_from(payload: Mapping[str, Any]) -> RestResponse:
    total = payload.get("total")
    next_offset = payload.get("next")
    time_block = payload.get("time")
    return RestResponse(
        result=payload.get("result"),
        total=total if isinstance(total, int) else None,
        next=next_offset if isinstance(next_offset, int) else None,
        time=time_block if isinstance(time_block, Mapping) else None,
    )
