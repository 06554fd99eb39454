"""Operator BB-code → a safe rich-text tree for visitors.

Bitrix24 sends operator text as BB-code (contract §9.1). Visitors must never receive markup they
could be harmed by, so the bridge parses the few tags a chat needs into a tree of plain data that
clients render with DOM APIs. Any other tag, and any malformed tag, stays literal text.

Tree nodes (JSON-ready dicts):
- ``{"type": "text", "text": str}``
- ``{"type": "br"}``
- ``{"type": "b" | "i" | "u" | "s" | "quote" | "code" | "list" | "item", "children": [...]}``
- ``{"type": "url", "href": str, "children": [...]}`` (only http, https and mailto links)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

Node = dict[str, Any]

_CONTAINERS = frozenset({"b", "i", "u", "s", "quote", "code", "list", "url"})
_TOKEN = re.compile(r"\[(/?)(b|i|u|s|url|quote|code|list|br|\*)(?:=([^\]\r\n]{1,2048}))?\]", re.IGNORECASE)
_SAFE_HREF = re.compile(r"^(?:https?://|mailto:)[^\s<>\"'`]+$", re.IGNORECASE)
# Bitrix24 quotes usually carry a header line of dashes; no tag needed to show it as text.
MAX_DEPTH = 20


def safe_href(candidate: str) -> str | None:
    """The link target if it is an absolute http(s) or mailto URL, else None."""
    href = candidate.strip()
    if href.startswith("www."):
        href = "https://" + href
    return href if _SAFE_HREF.match(href) else None


@dataclass
class _Frame:
    tag: str
    raw_open: str
    href: str | None = None
    children: list[Node] = field(default_factory=list)


def _append_text(children: list[Node], text: str) -> None:
    if not text:
        return
    if children and children[-1]["type"] == "text":
        children[-1]["text"] += text
    else:
        children.append({"type": "text", "text": text})


def _close(frame: _Frame) -> Node | None:
    if frame.tag == "url":
        href = frame.href
        if href is None:
            inner = "".join(c["text"] for c in frame.children if c["type"] == "text")
            href = safe_href(inner)
        if href is None:
            return None
        return {"type": "url", "href": href, "children": frame.children}
    return {"type": frame.tag, "children": frame.children}


def _unwind(frame: _Frame, into: list[Node]) -> None:
    """An unclosed tag: its opening stays literal text, its content is kept."""
    _append_text(into, frame.raw_open)
    for child in frame.children:
        if child["type"] == "text":
            _append_text(into, child["text"])
        else:
            into.append(child)


def parse(text: str) -> list[Node]:
    """Parse BB-code into the safe tree described in the module docstring."""
    root: list[Node] = []
    stack: list[_Frame] = []
    pos = 0

    def current() -> list[Node]:
        return stack[-1].children if stack else root

    for match in _TOKEN.finditer(text):
        _append_text(current(), text[pos : match.start()])
        pos = match.end()
        closing, tag, arg = match.group(1) == "/", match.group(2).lower(), match.group(3)
        raw = match.group(0)
        in_code = any(f.tag == "code" for f in stack)
        if in_code and not (closing and tag == "code"):
            _append_text(current(), raw)
        elif tag == "br" and not closing:
            current().append({"type": "br"})
        elif tag == "*" and not closing:
            _open_item(stack, current, raw)
        elif not closing and tag in _CONTAINERS:
            href = None
            if tag == "url" and arg is not None:
                href = safe_href(arg)
                if href is None:
                    _append_text(current(), raw)
                    continue
            if len(stack) >= MAX_DEPTH:
                _append_text(current(), raw)
                continue
            stack.append(_Frame(tag, raw, href))
        elif closing and any(f.tag == tag for f in stack):
            _close_until(stack, tag, current)
        else:
            _append_text(current(), raw)
    _append_text(current(), text[pos:])
    while stack:
        frame = stack.pop()
        _unwind(frame, current())
    return root


def _open_item(stack: list[_Frame], current: Any, raw: str) -> None:
    if stack and stack[-1].tag == "item":
        item = stack.pop()
        current().append({"type": "item", "children": item.children})
    if stack and stack[-1].tag == "list":
        stack.append(_Frame("item", ""))
    else:
        _append_text(current(), raw)


def _close_until(stack: list[_Frame], tag: str, current: Any) -> None:
    while stack:
        frame = stack.pop()
        if frame.tag == "item":
            current().append({"type": "item", "children": frame.children})
            continue
        if frame.tag == tag:
            node = _close(frame)
            if node is None:
                _unwind(frame, current())
                _append_text(current(), f"[/{tag}]")
            else:
                current().append(node)
            return
        _unwind(frame, current())


def plain_text(nodes: list[Node]) -> str:
    """The tree as plain text (notifications, previews, logs)."""
    out: list[str] = []
    for node in nodes:
        kind = node["type"]
        if kind == "text":
            out.append(node["text"])
        elif kind == "br":
            out.append("\n")
        else:
            inner = plain_text(node["children"])
            out.append(f"\n• {inner}" if kind == "item" else inner)
    return "".join(out)
