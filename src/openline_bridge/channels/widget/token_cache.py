"""A short-lived, bounded memory of resolved visitor tokens (see :class:`TokenCache`)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from openline_bridge.store.visitor_tokens import TokenAccess

__all__ = ["TokenCache"]


class TokenCache:
    """Recently resolved tokens, kept for a few seconds: most requests on the message path then need no
    query. A changed origin list or a deleted line applies within ``ttl``.

    Each entry lives a random part of ``ttl``, between ``(1 - spread) * ttl`` and ``ttl``: visitors who
    arrived together (a campaign, a restart of the bridge) would otherwise all need their token read again
    in the same instant, every ``ttl``, and that burst of reads doubled the request path's work for a
    moment (bench/visitor_ack.py).
    """

    def __init__(
        self,
        ttl: float = 5.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        *,
        spread: float = 0.5,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._spread = spread
        self._draw = draw
        self._entries: dict[str, tuple[float, TokenAccess]] = {}

    def get(self, hashed: str) -> TokenAccess | None:
        """The cached access of a token hash, if still fresh."""
        entry = self._entries.get(hashed)
        if entry is None or entry[0] < self._clock():
            return None
        return entry[1]

    def put(self, hashed: str, access: TokenAccess) -> None:
        """Remember a resolved token (the cache is emptied when full: bounded memory, correct either way)."""
        if len(self._entries) >= self._max_entries:
            self._entries.clear()
        lifetime = self._ttl * (1 - self._spread * self._draw())
        self._entries[hashed] = (self._clock() + lifetime, access)
