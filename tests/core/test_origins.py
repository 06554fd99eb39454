"""Allowed origins of a widget: parsing the admin's list, matching a browser's Origin."""

from __future__ import annotations

import pytest

from openline_bridge.core.origins import (
    MAX_ORIGINS,
    InvalidOrigin,
    normalise_origin,
    origin_allowed,
    parse_origin_list,
)


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("https://Shop.Example.com", "https://shop.example.com"),
        ("https://shop.example.com/", "https://shop.example.com"),
        ("https://shop.example.com:443", "https://shop.example.com"),
        ("http://localhost:80", "http://localhost"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("  https://a.example  ", "https://a.example"),
        ("https://*.Example.org", "https://*.example.org"),
        ("https://пример.рф", "https://xn--e1afmkfd.xn--p1ai"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_normalise(typed: str, normalised: str) -> None:
    assert normalise_origin(typed) == normalised


@pytest.mark.parametrize(
    "typed",
    [
        "example.com",
        "ftp://example.com",
        "https://example.com/path",
        "https://example.com?q=1",
        "https://example.com#x",
        "https://user@example.com",
        "https://example.com:0",
        "https://example.com:99999",
        "https://*",
        "https://*.com",
        "https://a.*.com",
        "https://-bad.com",
        "https://" + "a" * 300 + ".com",
    ],
)
def test_invalid_entries_are_refused(typed: str) -> None:
    with pytest.raises(InvalidOrigin):
        normalise_origin(typed)


def test_parse_list_splits_dedupes_and_bounds() -> None:
    assert parse_origin_list("https://a.example\nhttps://A.example/, http://b.example  \n\n") == [
        "https://a.example",
        "http://b.example",
    ]
    assert parse_origin_list("   ") == []
    with pytest.raises(InvalidOrigin):
        parse_origin_list(" ".join(f"https://s{n}.example" for n in range(MAX_ORIGINS + 1)))


ALLOWED = ["https://shop.example", "https://*.example.org", "http://localhost:3000"]


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://shop.example", True),
        ("https://SHOP.example:443", True),
        ("http://shop.example", False),  # another scheme is another origin
        ("https://shop.example:8443", False),
        ("https://a.example.org", True),
        ("https://a.b.example.org", True),
        ("https://example.org", False),  # a wildcard never covers the apex
        ("https://evilexample.org", False),
        ("https://example.org.evil.com", False),
        ("http://localhost:3000", True),
        ("http://localhost:3001", False),
        ("null", False),
        ("", False),
        (None, False),
        ("https://*.example.org", False),
        ("not an origin", False),
    ],
)
def test_origin_allowed(origin: str | None, allowed: bool) -> None:
    assert origin_allowed(ALLOWED, origin) is allowed


def test_an_empty_list_allows_no_website() -> None:
    assert not origin_allowed([], "https://shop.example")
