from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from openline_bridge.core.bbcode import parse, plain_text


def text(value: str) -> dict[str, str]:
    return {"type": "text", "text": value}


def test_formatting_tags_become_nodes() -> None:
    assert parse("[b]bold[/b] [I]it[/I][br][u]u[/u][s]s[/s]") == [
        {"type": "b", "children": [text("bold")]},
        text(" "),
        {"type": "i", "children": [text("it")]},
        {"type": "br"},
        {"type": "u", "children": [text("u")]},
        {"type": "s", "children": [text("s")]},
    ]


def test_links_keep_only_safe_targets() -> None:
    assert parse("[url=https://example.com/a?b=1]site[/url]") == [
        {"type": "url", "href": "https://example.com/a?b=1", "children": [text("site")]}
    ]
    assert parse("[url]www.example.com[/url]") == [
        {"type": "url", "href": "https://www.example.com", "children": [text("www.example.com")]}
    ]
    assert parse("[url=javascript:alert(1)]x[/url]") == [text("[url=javascript:alert(1)]x[/url]")]
    assert parse("[url]javascript:alert(1)[/url]") == [text("[url]javascript:alert(1)[/url]")]


def test_lists_quotes_and_code() -> None:
    assert parse("[list][*]one[*]two[/list]") == [
        {
            "type": "list",
            "children": [
                {"type": "item", "children": [text("one")]},
                {"type": "item", "children": [text("two")]},
            ],
        }
    ]
    assert parse("[quote]q[/quote][code][b]raw[/b][/code]") == [
        {"type": "quote", "children": [text("q")]},
        {"type": "code", "children": [text("[b]raw[/b]")]},
    ]


def test_unknown_and_broken_tags_stay_text() -> None:
    assert parse("[USER=5]Anna[/USER] [img]x[/img]") == [text("[USER=5]Anna[/USER] [img]x[/img]")]
    assert parse("[b]open") == [text("[b]open")]
    assert parse("close[/b]") == [text("close[/b]")]
    assert parse("<script>alert(1)</script>") == [text("<script>alert(1)</script>")]


def test_improper_nesting_keeps_content() -> None:
    assert plain_text(parse("[b]a[i]b[/b]c[/i]")) == "a[i]bc[/i]"


@given(st.text(max_size=300))
def test_any_text_parses_to_serialisable_safe_tree(raw: str) -> None:
    tree = parse(raw)
    json.dumps(tree)

    def walk(nodes: list[dict[str, object]]) -> None:
        for node in nodes:
            assert node["type"] in {"text", "br", "b", "i", "u", "s", "quote", "code", "list", "item", "url"}
            if node["type"] == "url":
                assert str(node["href"]).lower().startswith(("http://", "https://", "mailto:"))
            if "children" in node:
                walk(node["children"])  # type: ignore[arg-type]

    walk(tree)


@given(st.text(alphabet=st.characters(blacklist_characters="[]"), max_size=200))
def test_text_without_brackets_is_unchanged(raw: str) -> None:
    assert plain_text(parse(raw)) == raw
