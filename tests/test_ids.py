"""Generated identifiers: random, URL-safe, and hashed tokens that do not reveal the token."""

from __future__ import annotations

import re

from openline_bridge.ids import new_owner_id, new_token, token_hash


def test_tokens_are_random_and_url_safe() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", token) for token in tokens)


def test_token_hash_is_stable_and_hides_the_token() -> None:
    token = new_token()
    assert token_hash(token) == token_hash(token)
    assert token_hash(token) != token_hash(new_token())
    assert token not in token_hash(token)
    assert len(token_hash(token)) == 64


def test_owner_ids_differ_per_call() -> None:
    assert new_owner_id() != new_owner_id()
