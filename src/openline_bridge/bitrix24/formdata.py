"""PHP-style form encoding: Bitrix24's event bodies in, REST query strings (batch `cmd`) out.

Bitrix24 posts events as ``application/x-www-form-urlencoded`` with nested data flattened into PHP
bracket keys, ``data[MESSAGES][0][message][files][0][link]=...`` (contract §7.3). Every scalar arrives
as a string and empty arrays produce no key at all, so the parser keeps strings as strings and turns a
mapping whose keys are exactly ``"0".."n-1"`` back into a list. The parser is strict where PHP would
guess (unbalanced brackets, a key that is both a value and a container) because every such body is
either a bug or a forgery; it bounds size, field count and nesting depth, and the only exception it
raises is :class:`~openline_bridge.bitrix24.errors.MalformedForm`. PHP's renaming of ``.`` and spaces
in top-level names to ``_`` is not reproduced: no Bitrix24 field name contains them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias
from urllib.parse import quote, unquote_to_bytes

from openline_bridge.bitrix24.errors import MalformedForm

__all__ = ["FormDict", "FormValue", "encode_php_query", "parse_form"]

FormValue: TypeAlias = "str | list[FormValue] | dict[str, FormValue]"
FormDict: TypeAlias = "dict[str, FormValue]"

MAX_BODY_BYTES = 2_000_000
MAX_FIELDS = 20_000
MAX_DEPTH = 12

# While building, containers are dicts keyed by segment; lists appear only in the final pass.
_Tree: TypeAlias = "dict[str, str | _Tree]"


def parse_form(
    body: bytes | str,
    *,
    max_bytes: int = MAX_BODY_BYTES,
    max_fields: int = MAX_FIELDS,
    max_depth: int = MAX_DEPTH,
) -> FormDict:
    """Parse a urlencoded body with PHP bracket keys into nested dicts and lists of strings."""
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    if len(raw) > max_bytes:
        raise MalformedForm(f"body of {len(raw)} bytes exceeds {max_bytes}")
    pairs = [pair for pair in raw.split(b"&") if pair]
    if len(pairs) > max_fields:
        raise MalformedForm(f"{len(pairs)} fields exceed {max_fields}")
    root: _Tree = {}
    for pair in pairs:
        raw_key, _, raw_value = pair.partition(b"=")
        path = _split_key(_decode(raw_key))
        if len(path) > max_depth:
            raise MalformedForm(f"key nested deeper than {max_depth}")
        _insert(root, path, _decode(raw_value))
    return {key: _finish(value) for key, value in root.items()}


def encode_php_query(params: Mapping[str, object]) -> str:
    """Encode nested params as PHP's ``http_build_query`` does (used for batch ``cmd`` strings).

    Lists become ``key[0]``, ``key[1]``; booleans become ``1``/``0``; ``None`` and empty containers
    produce no key, exactly as on the Bitrix24 side (contract §3, §7.3).
    """
    parts: list[str] = []
    for key, value in params.items():
        _encode_into(parts, str(key), value)
    return "&".join(parts)


def _encode_into(parts: list[str], key: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for sub_key, sub_value in value.items():
            _encode_into(parts, f"{key}[{sub_key}]", sub_value)
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        for index, item in enumerate(value):
            _encode_into(parts, f"{key}[{index}]", item)
    else:
        parts.append(f"{quote(key, safe='')}={quote(_scalar(value), safe='')}")


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def _decode(raw: bytes) -> str:
    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedForm("field is not valid UTF-8") from exc


def _split_key(key: str) -> list[str | None]:
    """``a[b][]`` → ``["a", "b", None]``; ``None`` marks an append (``[]``)."""
    base, bracket, rest = key.partition("[")
    if not base or "]" in base:
        raise MalformedForm(f"invalid field name {key[:60]!r}")
    path: list[str | None] = [base]
    while bracket:
        segment, closed, rest = rest.partition("]")
        if not closed:
            raise MalformedForm(f"unbalanced brackets in {key[:60]!r}")
        path.append(segment or None)
        if not rest:
            break
        if not rest.startswith("["):
            raise MalformedForm(f"text after brackets in {key[:60]!r}")
        rest = rest[1:]
    return path


def _insert(root: _Tree, path: list[str | None], value: str) -> None:
    node = root
    for position, segment in enumerate(path):
        name = _append_index(node) if segment is None else segment
        if position == len(path) - 1:
            if isinstance(node.get(name), dict):
                raise MalformedForm(f"field {name!r} is both a value and a container")
            node[name] = value  # PHP: the last value of a repeated key wins
            return
        child = node.setdefault(name, {})
        if not isinstance(child, dict):
            raise MalformedForm(f"field {name!r} is both a value and a container")
        node = child


def _append_index(node: _Tree) -> str:
    """PHP's ``[]``: one past the largest integer key so far."""
    indices = [int(key) for key in node if _is_index(key)]
    return str(max(indices) + 1) if indices else "0"


def _is_index(key: str) -> bool:
    return key.isascii() and key.isdigit() and (key == "0" or not key.startswith("0"))


def _finish(value: str | _Tree) -> FormValue:
    if isinstance(value, str):
        return value
    finished = {key: _finish(child) for key, child in value.items()}
    if finished and all(_is_index(key) for key in finished):
        ordered = sorted(finished, key=int)
        if ordered == [str(index) for index in range(len(ordered))]:
            return [finished[key] for key in ordered]
    return finished
