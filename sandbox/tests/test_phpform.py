"""PHP bracket-key parsing and `http_build_query`-style encoding (contract §2.1, §7.3)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from b24sandbox.phpform import encode, parse_pairs


def test_nested_keys_and_lists() -> None:
    pairs = [("a[b][0][c]", "x"), ("a[b][1][c]", "y"), ("a[d]", "z"), ("e[]", "1"), ("e[]", "2")]
    assert parse_pairs(pairs) == {"a": {"b": [{"c": "x"}, {"c": "y"}], "d": "z"}, "e": ["1", "2"]}


def test_sparse_numeric_keys_stay_a_dict() -> None:
    assert parse_pairs([("a[0]", "x"), ("a[2]", "y")]) == {"a": {"0": "x", "2": "y"}}


def test_malformed_keys_are_literal_and_later_pairs_win() -> None:
    assert parse_pairs([("a[b", "1"), ("c", "1"), ("c[d]", "2")]) == {"a[b": "1", "c": {"d": "2"}}


def test_encode_like_http_build_query() -> None:
    body = encode({"event": "X", "data": {"A": [1, {"b": True}], "E": [], "F": {}, "N": None, "Z": False}})
    assert parse_qsl(body) == [("event", "X"), ("data[A][0]", "1"), ("data[A][1][b]", "1"), ("data[Z]", "0")]
    assert "%5B" in body  # brackets are percent-encoded like PHP does


def test_round_trip() -> None:
    data = {"MESSAGES": [{"user": {"id": "7"}, "message": {"text": "a&b=c [b]x[/b]"}}]}
    assert parse_pairs(parse_qsl(encode(data))) == data
