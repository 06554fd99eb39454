"""Generated identifiers and secrets: one place decides their length and alphabet."""

from __future__ import annotations

import hashlib
import os
import secrets
import socket

__all__ = ["new_owner_id", "new_token", "token_hash"]


def new_token(nbytes: int = 24) -> str:
    """A URL-safe random secret (visitor tokens, widget public keys, external ids)."""
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    """The SHA-256 hex digest stored instead of a bearer token, so a database leak does not leak tokens."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_owner_id() -> str:
    """A lease owner id naming this process (host, pid) plus randomness, readable in the database."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"
