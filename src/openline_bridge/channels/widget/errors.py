"""Refusals of the visitor API and their one wire form (docs/protocol.md §3).

Every refusal is raised as :class:`WidgetError` (or arrives as a relay ``RelayError``) and leaves through
:func:`refusal`, so the status, the ``code`` and the ``Retry-After`` header always agree.
"""

from __future__ import annotations

from typing import Any

from openline_bridge.channels.widget.responses import JsonReply
from openline_bridge.relay.errors import RelayError

__all__ = ["WidgetError", "forbidden_origin", "invalid_token", "refusal", "relay_refusal"]

# protocol §3: the HTTP status of every code a relay use-case can refuse with.
_RELAY_STATUS = {
    "validation_error": 400,
    "empty_message": 400,
    "message_too_long": 400,
    "too_many_attachments": 400,
    "link_expired": 403,
    "not_found": 404,
    "message_not_editable": 409,
    "attachment_in_use": 409,
    "file_too_large": 413,
    "file_type_not_allowed": 415,
}


class WidgetError(Exception):
    """A request the visitor API refuses on purpose: HTTP ``status``, machine-readable ``code``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        retry_after: int | None = None,
        details: list[dict[str, str]] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.details = details
        super().__init__(f"{status} {code}: {message}")


def invalid_token() -> WidgetError:
    """protocol §2.1: missing, malformed, unknown or revoked token."""
    return WidgetError(401, "invalid_token", "a valid visitor token is required")


def forbidden_origin() -> WidgetError:
    """protocol §2.3: the ``Origin`` is not allowed for the widget."""
    return WidgetError(403, "forbidden_origin", "this website is not allowed to use the widget")


def refusal(error: WidgetError) -> JsonReply:
    """The error envelope of ``error``, with ``Retry-After``/``WWW-Authenticate`` where the protocol asks."""
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    headers: dict[str, str] = {}
    if error.retry_after is not None:
        body["retry_after"] = error.retry_after
        headers["Retry-After"] = str(error.retry_after)
    if error.details is not None:
        body["details"] = error.details
    if error.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JsonReply({"error": body}, status_code=error.status, headers=headers)


def relay_refusal(error: RelayError) -> WidgetError:
    """The visitor API's form of a relay use-case's refusal."""
    return WidgetError(_RELAY_STATUS.get(error.code, 400), error.code, str(error))
