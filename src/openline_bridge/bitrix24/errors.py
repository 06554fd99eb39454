"""Every Bitrix24 failure the bridge can meet, and the one function that maps raw results onto them.

::

    BridgeError
    └── Bitrix24Error                REST/OAuth failures; `code`, `description`, `status`
        ├── RetryableError           try again later: network error before sending, 503, 429, limits
        │   └── ServerFailureError   the server failed while handling the call (5xx but 503): maybe done
        ├── TokenExpiredError        the access token is expired or unknown: refresh, then retry once
        ├── LineInactiveError        NOT_ACTIVE_LINE: park the work until the line is active again
        ├── PermanentError           the request itself is wrong (arguments, provider, scope, auth type)
        ├── AuthRevokedError         the grant is gone (invalid_grant, PAYMENT_REQUIRED…): reinstall
        ├── AmbiguousError           sent, but no answer: the call may have taken effect (pitfall P17)
        └── DomainMovedError         the portal answered 302 to another domain (contract §2.1)
    └── PayloadError                 a body Bitrix24 (or someone pretending) sent us is unusable
        ├── MalformedForm            not a PHP-style urlencoded form we can read safely
        ├── MalformedEvent           a required event field is missing or has the wrong type
        └── ForgedEvent              ``application_token`` does not match the portal's

The worker decides what to do by type alone; the code and status stay available for logs and for
the reason shown to a visitor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from openline_bridge.errors import BridgeError

__all__ = [
    "AmbiguousError",
    "AuthRevokedError",
    "Bitrix24Error",
    "DomainMovedError",
    "ForgedEvent",
    "LineInactiveError",
    "MalformedEvent",
    "MalformedForm",
    "PayloadError",
    "PermanentError",
    "RetryableError",
    "ServerFailureError",
    "TokenExpiredError",
    "classify",
    "error_from_envelope",
    "json_or_none",
    "transport_failure",
]


class Bitrix24Error(BridgeError):
    """A Bitrix24 REST or OAuth call failed; ``code`` is Bitrix24's ``error`` string (or our own label)."""

    def __init__(self, code: str, description: str = "", *, status: int | None = None) -> None:
        self.code = code
        self.description = description
        self.status = status
        shown = f"{code}: {description}" if description else code
        super().__init__(shown if status is None else f"{shown} (HTTP {status})")


class RetryableError(Bitrix24Error):
    """Nothing happened on the Bitrix24 side (or it asked us to slow down); retry with backoff.

    ``retry_at`` is a unix time before which a retry is pointless (429 ``operating_reset_at``), if known.
    """

    def __init__(
        self, code: str, description: str = "", *, status: int | None = None, retry_at: float | None = None
    ) -> None:
        super().__init__(code, description, status=status)
        self.retry_at = retry_at


class ServerFailureError(RetryableError):
    """The server failed while it handled the call (500, 502, 504, ``INTERNAL_SERVER_ERROR``): worth
    retrying, but the call may have taken effect first, as after a lost answer (pitfall P17)."""


class TokenExpiredError(Bitrix24Error):
    """The access token was refused as expired or unknown; refresh it and retry once."""


class LineInactiveError(Bitrix24Error):
    """The connector is not active on the line (contract §8.7 step 3); park until it is re-activated."""


class PermanentError(Bitrix24Error):
    """The request is wrong and repeating it cannot help (argument, provider, scope, auth type…)."""


class AuthRevokedError(Bitrix24Error):
    """The portal no longer grants access (refresh token dead, app unpaid, uninstalled, portal deleted)."""


class AmbiguousError(Bitrix24Error):
    """The request was sent but no answer came; it may have taken effect (pitfall P17)."""


class DomainMovedError(Bitrix24Error):
    """The portal redirected to another domain; ``client_endpoint`` is the new ``https://<domain>/rest/``."""

    def __init__(self, client_endpoint: str, domain: str) -> None:
        super().__init__("DOMAIN_MOVED", f"portal moved to {domain}", status=302)
        self.client_endpoint = client_endpoint
        self.domain = domain


class PayloadError(BridgeError):
    """A body received from Bitrix24 cannot be used."""


class MalformedForm(PayloadError):
    """The body is not a PHP-style urlencoded form within our size and depth limits."""


class MalformedEvent(PayloadError):
    """A required event field is missing or malformed; ``field`` names it (e.g. ``auth[member_id]``)."""

    def __init__(self, field: str, problem: str = "is missing") -> None:
        self.field = field
        super().__init__(f"event field {field} {problem}")


class ForgedEvent(PayloadError):
    """The event's ``application_token`` is not the one the portal gave us at install (pitfall P8)."""


# contract §2.3, §5.3, §5.4, §8: codes whose meaning does not depend on the HTTP status.
_TOKEN_EXPIRED = frozenset({"expired_token", "invalid_token"})
_AUTH_REVOKED = frozenset(
    {
        "invalid_grant",
        "invalid_client",
        "PAYMENT_REQUIRED",
        "NOT_INSTALLED",
        "APPLICATION_NOT_FOUND",
        "PORTAL_DELETED",
        "WRONG_CLIENT",
    }
)
# refused before any work was done: the portal asks us to slow down or wait
_RETRYABLE = frozenset({"QUERY_LIMIT_EXCEEDED", "OVERLOAD_LIMIT", "OPERATION_TIME_LIMIT"})
# failed somewhere inside the portal's handling of the call
_SERVER_FAILURE = frozenset({"INTERNAL_SERVER_ERROR", "ERROR_UNEXPECTED_ANSWER"})
_LINE_INACTIVE = frozenset({"NOT_ACTIVE_LINE"})

# httpx errors raised before any byte of the request left: the call certainly did not happen.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def classify(
    status: int | None,
    body: Any,
    transport_error: BaseException | None = None,
    *,
    location: str | None = None,
) -> Bitrix24Error | None:
    """Map one raw HTTP outcome onto the taxonomy; ``None`` means success.

    ``body`` is the decoded JSON (``None`` when the body was not JSON), ``transport_error`` the exception
    raised instead of a response, ``location`` the ``Location`` header of a redirect.
    """
    if transport_error is not None:
        return transport_failure(transport_error)
    if status is None:
        return AmbiguousError("NO_RESPONSE", "no status and no transport error")
    if isinstance(body, Mapping):
        failure = _failure_in(body)
        if failure is not None:
            return error_from_envelope(failure, status=status)
    if status in (301, 302, 303, 307, 308):
        return _classify_redirect(status, location)
    if status >= 500:
        return _server_error("HTTP_ERROR", f"server answered {status}", status)
    if status == 429:
        return RetryableError("HTTP_ERROR", "too many requests", status=status)
    if status >= 400:
        return PermanentError("HTTP_ERROR", f"server answered {status}", status=status)
    if not isinstance(body, Mapping) or "result" not in body:
        # A 2xx without the envelope (a proxy page, a truncated body): we cannot tell what happened.
        return AmbiguousError("UNEXPECTED_ANSWER", "2xx answer without a result envelope", status=status)
    return None


def error_from_envelope(envelope: Mapping[str, Any], *, status: int | None = None) -> Bitrix24Error:
    """The error for one ``{"error": ..., "error_description": ...}`` object (also batch ``result_error``)."""
    code = str(envelope.get("error") or "UNKNOWN_ERROR")
    description = str(envelope.get("error_description") or "")
    if code in _TOKEN_EXPIRED:
        return TokenExpiredError(code, description, status=status)
    if code in _AUTH_REVOKED:
        return AuthRevokedError(code, description, status=status)
    if code in _LINE_INACTIVE:
        return LineInactiveError(code, description, status=status)
    if code in _RETRYABLE:
        return RetryableError(code, description, status=status, retry_at=_reset_time(envelope))
    if code in _SERVER_FAILURE:
        return ServerFailureError(code, description, status=status)
    if status is not None and status >= 500:
        return _server_error(code, description, status)
    return PermanentError(code, description, status=status)


def _server_error(code: str, description: str, status: int) -> RetryableError:
    # 503 is a refusal (overload, maintenance); any other 5xx may come after the work was done, e.g. a
    # gateway timing out while the portal went on
    if status == 503:
        return RetryableError(code, description, status=status)
    return ServerFailureError(code, description, status=status)


def _failure_in(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The error object inside a body, in any of the shapes Bitrix24 uses."""
    # contract §13: any JSON body with `error` is an error whatever the HTTP status; this also catches
    # §14.1's source form of a register failure, {"result": false, "error": ...} with HTTP 200.
    if body.get("error"):
        return body
    result = body.get("result")
    # contract §14.1, docs form: {"result": {"result": false, "error": ..., "error_description": ...}}.
    if isinstance(result, Mapping) and result.get("result") is False and result.get("error"):
        return result
    return None


def _reset_time(envelope: Mapping[str, Any]) -> float | None:
    """contract §2.2, §4: `operating_reset_at` tells when the 429 operating-time block ends."""
    time_block = envelope.get("time")
    for holder in (envelope, time_block if isinstance(time_block, Mapping) else {}):
        value = holder.get("operating_reset_at")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return None
    return None


def json_or_none(response: httpx.Response) -> Any:
    """The decoded JSON body, or ``None`` when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def transport_failure(error: BaseException) -> Bitrix24Error:
    """The error for an exception raised instead of a response."""
    if isinstance(error, _NOT_SENT):
        return RetryableError("NETWORK_ERROR", f"{type(error).__name__} before sending")
    # Read timeouts, resets and protocol errors happen after the request was (maybe) processed.
    return AmbiguousError("NETWORK_ERROR", f"{type(error).__name__} after sending")


def _classify_redirect(status: int, location: str | None) -> Bitrix24Error:
    target = httpx.URL(location) if location else None
    if target is None or not target.host:
        return PermanentError("BAD_REDIRECT", "redirect without an absolute Location", status=status)
    scheme = target.scheme or "https"
    port = f":{target.port}" if target.port else ""
    # contract §2.1: a renamed portal answers 302; the REST base stays /rest/ on the new domain.
    return DomainMovedError(f"{scheme}://{target.host}{port}/rest/", f"{target.host}{port}")
