"""PHP bracket forms: round trips against an independent PHP-style encoder, garbage, limits."""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openline_bridge.bitrix24.errors import MalformedForm
from openline_bridge.bitrix24.formdata import encode_php_query, parse_form


def php_http_build_query(data: dict[str, Any]) -> str:
    """What PHP's ``http_build_query`` produces (written here independently of the bridge's encoder)."""
    pairs: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}[{key}]", item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(f"{prefix}[{index}]", item)
        else:
            pairs.append(quote_plus(prefix) + "=" + quote_plus(value))

    for key, value in data.items():
        walk(key, value)
    return "&".join(pairs)


# Keys never contain brackets (PHP cannot round-trip those either) and never look like list indices,
# which would legitimately turn a dict into a list.
keys = st.text(
    alphabet=st.characters(blacklist_characters="[]", blacklist_categories=["Cs"]), min_size=1, max_size=8
).filter(lambda key: not key.isdigit())
scalars = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=20)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, min_size=1, max_size=4) | st.dictionaries(keys, children, min_size=1, max_size=4)
    ),
    max_leaves=20,
)
forms = st.dictionaries(keys, values, max_size=5)


@given(forms)
def test_parse_inverts_php_http_build_query(form: dict[str, Any]) -> None:
    assert parse_form(php_http_build_query(form)) == form


@given(forms)
def test_bridge_encoder_agrees_with_php(form: dict[str, Any]) -> None:
    assert parse_form(encode_php_query(form)) == parse_form(php_http_build_query(form))


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_garbage_bytes_raise_only_malformed_form(body: bytes) -> None:
    with contextlib.suppress(MalformedForm):
        parse_form(body)


@settings(max_examples=300)
@given(st.text(alphabet="a[]=&%0+b", max_size=40))
def test_bracket_soup_raises_only_malformed_form(body: str) -> None:
    with contextlib.suppress(MalformedForm):
        parse_form(body)


def test_contract_message_add_body() -> None:
    body = (
        "event=ONIMCONNECTORMESSAGEADD&event_handler_id=555"
        "&data%5BMESSAGES%5D%5B0%5D%5Bim%5D%5Bchat_id%5D=1807"
        "&data[MESSAGES][0][message][text]=%5Bb%5DKlaus+Weber%3A%5B%2Fb%5D%5Bbr%5D+Guten+Tag%21"
        "&data[MESSAGES][0][message][files][0][link]=https%3A%2F%2Fx.bitrix24.com%2Fa%3Fb%3D1%26c%3D2"
        "&auth[expires_in]=3600"
    )
    assert parse_form(body) == {
        "event": "ONIMCONNECTORMESSAGEADD",
        "event_handler_id": "555",
        "data": {
            "MESSAGES": [
                {
                    "im": {"chat_id": "1807"},
                    "message": {
                        "text": "[b]Klaus Weber:[/b][br] Guten Tag!",
                        "files": [{"link": "https://x.bitrix24.com/a?b=1&c=2"}],
                    },
                }
            ]
        },
        "auth": {"expires_in": "3600"},
    }


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("", {}),
        ("a=1&&b=2", {"a": "1", "b": "2"}),
        ("a[]=x&a[]=y", {"a": ["x", "y"]}),
        ("a[1]=x&a[0]=y", {"a": ["y", "x"]}),  # indices, not arrival order
        ("a[0]=x&a[2]=y", {"a": {"0": "x", "2": "y"}}),  # sparse: stays a mapping
        ("a[01]=x", {"a": {"01": "x"}}),  # not a canonical index
        ("a=1&a=2", {"a": "2"}),  # PHP: last wins
        ("data=107", {"data": "107"}),  # contract §9.4: LineDelete's scalar data
        ("a", {"a": ""}),
        ("a[b]=%E2%82%AC", {"a": {"b": "€"}}),
    ],
)
def test_php_rules(body: str, expected: dict[str, Any]) -> None:
    assert parse_form(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        "a[b=1",  # unbalanced
        "[a]=1",  # no base name
        "a]b=1",
        "a[b]c=1",  # text after brackets
        "a=1&a[b]=2",  # value and container
        "a[b]=2&a=1",
        "a=%FF",  # not UTF-8
    ],
)
def test_malformed_forms(body: str) -> None:
    with pytest.raises(MalformedForm):
        parse_form(body)


def test_limits() -> None:
    with pytest.raises(MalformedForm, match="exceeds"):
        parse_form(b"a=" + b"x" * 100, max_bytes=50)
    with pytest.raises(MalformedForm, match="fields"):
        parse_form("&".join(f"k{i}=v" for i in range(11)), max_fields=10)
    with pytest.raises(MalformedForm, match="deeper"):
        parse_form("a" + "[x]" * 13 + "=1")
    assert parse_form("a" + "[x]" * 11 + "=1")  # depth 12 is allowed


def test_encoder_drops_none_and_spells_booleans() -> None:
    query = encode_php_query({"A": None, "B": True, "C": False, "D": [], "E": {"x": [1, "a b"]}})
    assert query == "B=1&C=0&E%5Bx%5D%5B0%5D=1&E%5Bx%5D%5B1%5D=a%20b"
