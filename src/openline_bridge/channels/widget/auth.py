"""Visitor authentication: bearer tokens, signed identities, and the one access check.

:func:`authorize` (REST) and :func:`authorize_live` (the live WebSocket) are the only ways a request
reaches a conversation: the token selects exactly one visitor and its conversation (docs/protocol.md
§2.1), then the ``Origin`` is checked against the token's widget (§2.3).
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import HTTPConnection

from openline_bridge.channels.widget.context import WidgetApi
from openline_bridge.channels.widget.errors import forbidden_origin, invalid_token
from openline_bridge.channels.widget.origins import origin_permitted, require_origin
from openline_bridge.ids import new_token, token_hash
from openline_bridge.store import visitor_tokens
from openline_bridge.store.visitor_tokens import TokenAccess

__all__ = [
    "MAX_TOKEN_CHARS",
    "authorize",
    "authorize_live",
    "checked_token",
    "identity_matches",
    "new_visitor_token",
    "resolve_token",
]

TOKEN_PREFIX = "olv1_"  # noqa: S105 -- a public prefix, not a secret
MAX_TOKEN_CHARS = 256  # protocol §2.1: clients may rely on tokens being at most 256 characters
_TOKEN_BYTES = 32  # protocol §2.1: at least 128 random bits; 256 here


def new_visitor_token() -> str:
    """A fresh visitor token: 32 random bytes, base64url, prefixed ``olv1_`` (protocol §2.1)."""
    return TOKEN_PREFIX + new_token(_TOKEN_BYTES)


def checked_token(value: str | None) -> str | None:
    """A presented token if it can be one of ours (ASCII, at most 256 characters), else None."""
    if not value or len(value) > MAX_TOKEN_CHARS or not value.isascii():
        return None
    return value


def identity_matches(secret: str, user_id: str, signature: str) -> bool:
    """Whether ``signature`` is the hex HMAC-SHA256 of ``user_id`` under the widget's identity secret
    (protocol §2.2); compared in constant time, hex case-insensitive."""
    expected = hmac.new(secret.encode("utf-8"), user_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"), signature.lower().encode("utf-8"))


async def resolve_token(api: WidgetApi, token: str | None) -> TokenAccess:
    """What a token grants; ``invalid_token`` for a missing or unknown one."""
    token = checked_token(token)
    if token is None:
        raise invalid_token()
    hashed = token_hash(token)
    access = api.token_cache.get(hashed)
    if access is None:
        # a read: a token check never waits behind the message batch being written
        async with api.relay.database.read() as session:
            access = await visitor_tokens.find_access(session, hashed)
        if access is None:
            raise invalid_token()
        api.token_cache.put(hashed, access)
    return access


async def authorize(api: WidgetApi, connection: HTTPConnection, token: str | None) -> TokenAccess:
    """The visitor's conversation for a REST request: the token, then the ``Origin`` rule."""
    access = await resolve_token(api, token)
    require_origin(connection, access.allowed_origins)
    return access


async def authorize_live(api: WidgetApi, token: str | None, origin: str | None) -> TokenAccess:
    """:func:`authorize` for the live WebSocket, given the ``Origin`` of its upgrade request (read before
    the connection was accepted; there is no CORS response to mark)."""
    access = await resolve_token(api, token)
    if not origin_permitted(access.allowed_origins, origin):
        raise forbidden_origin()
    return access
