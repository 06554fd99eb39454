"""The memory of resolved visitor tokens: fresh entries only, lifetimes spread inside the TTL, bounded."""

from __future__ import annotations

from openline_bridge.channels.widget.token_cache import TokenCache
from openline_bridge.store.visitor_tokens import TokenAccess

ACCESS = TokenAccess(visitor_id=1, widget_id=2, line_id=3, conversation_id=4, allowed_origins=("*",))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_lives_between_the_spread_and_the_full_ttl() -> None:
    clock = Clock()
    draws = iter([0.0, 1.0])
    cache = TokenCache(ttl=10.0, clock=clock, spread=0.5, draw=lambda: next(draws))
    cache.put("long", ACCESS)  # draw 0: the whole TTL
    cache.put("short", ACCESS)  # draw 1: half of it
    clock.now += 4.9
    assert (cache.get("long"), cache.get("short")) == (ACCESS, ACCESS)
    clock.now += 0.2
    assert (cache.get("long"), cache.get("short")) == (ACCESS, None)
    clock.now += 5.0
    assert cache.get("long") is None


def test_tokens_cached_together_expire_apart() -> None:
    clock = Clock()
    cache = TokenCache(ttl=5.0, clock=clock)
    for n in range(1000):
        cache.put(f"token-{n}", ACCESS)
    clock.now += 3.75
    still = sum(cache.get(f"token-{n}") is not None for n in range(1000))
    assert 350 < still < 650  # about half, not all or none at once


def test_a_full_cache_starts_over_and_unknown_tokens_are_misses() -> None:
    cache = TokenCache(max_entries=3, clock=Clock())
    for n in range(3):
        cache.put(f"token-{n}", ACCESS)
    cache.put("token-3", ACCESS)
    assert [cache.get(f"token-{n}") for n in range(4)] == [None, None, None, ACCESS]
    assert cache.get("never") is None
