"""PHP bracket-key form data, in both directions.

Bitrix24 is PHP: request parameters such as `MESSAGES[0][user][id]=7` become nested arrays, and
events leave the portal encoded by `http_build_query` (contract §2.1, §7.3). `parse_pairs` reads
such keys into nested dicts (numeric-key dicts `0..n-1` become lists, as the official SDK does);
`encode_pairs` / `encode` write nested data the way PHP does: every scalar a string, booleans as
"1"/"0", None and empty arrays/objects omitted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

__all__ = ["encode", "encode_pairs", "parse_pairs", "split_key"]


def split_key(key: str) -> list[str]:
    """`a[b][0][]` → `["a", "b", "0", ""]`; a key with unbalanced brackets stays one name."""
    start = key.find("[")
    if start <= 0:
        return [key]
    parts = [key[:start]]
    rest = key[start:]
    while rest:
        if not rest.startswith("["):
            # PHP ignores anything after the last well-formed bracket group.
            break
        end = rest.find("]")
        if end < 0:
            return [key]
        parts.append(rest[1:end])
        rest = rest[end + 1 :]
    return parts


def _next_index(node: dict[str, Any]) -> str:
    numeric = [int(k) for k in node if k.isdigit()]
    return str(max(numeric) + 1) if numeric else "0"


def _listify(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {k: _listify(v) for k, v in value.items()}
    keys = list(converted)
    if keys and all(k.isdigit() for k in keys) and sorted(int(k) for k in keys) == list(range(len(keys))):
        return [converted[str(i)] for i in range(len(keys))]
    return converted


def parse_pairs(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Nest `(key, value)` pairs by their PHP bracket keys; a later pair wins on conflict."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = split_key(key)
        node = root
        for depth, part in enumerate(parts):
            name = _next_index(node) if part == "" and depth > 0 else part
            if depth == len(parts) - 1:
                node[name] = value
                break
            child = node.get(name)
            if not isinstance(child, dict):
                child = {}
                node[name] = child
            node = child
    return {k: _listify(v) for k, v in root.items()}


def _scalar(value: Any) -> str:
    if value is True:
        return "1"
    if value is False:
        return "0"
    return str(value)


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}[{k}]", v, out)
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        for i, v in enumerate(value):
            _flatten(f"{prefix}[{i}]", v, out)
    else:
        out.append((prefix, _scalar(value)))


def encode_pairs(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Flatten nested data into PHP bracket-key pairs, `http_build_query` style."""
    out: list[tuple[str, str]] = []
    for key, value in data.items():
        _flatten(str(key), value, out)
    return out


def encode(data: Mapping[str, Any]) -> str:
    """The urlencoded body PHP's `http_build_query` would produce for `data`."""
    return urlencode(encode_pairs(data))
