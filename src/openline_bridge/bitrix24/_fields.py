"""Reading typed fields out of parsed event forms; every failure is a ``MalformedEvent`` naming the field.

``where`` is the field's wire name (``data[MESSAGES][0][im][chat_id]``) so the error says what was wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openline_bridge.bitrix24.errors import MalformedEvent

__all__ = [
    "as_int",
    "as_list",
    "as_str",
    "data_mapping",
    "either_case",
    "mapping",
    "optional_int",
    "optional_mapping",
    "optional_str",
    "required",
    "required_str",
]


def data_mapping(data: Any) -> Mapping[str, Any]:
    """The event's ``data`` as an object."""
    if not isinstance(data, Mapping):
        raise MalformedEvent("data", "is not an object")
    return data


def either_case(block: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``{key: value}`` for ``key`` or its upper-case spelling (empty when neither is there)."""
    for candidate in (key, key.upper()):
        if candidate in block:
            return {key: block[candidate]}
    return {}


def mapping(block: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    """A required nested object."""
    value = required(block, key, where)
    if not isinstance(value, Mapping):
        raise MalformedEvent(where, "is not an object")
    return value


def optional_mapping(block: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """A nested object, or an empty one when absent or not an object."""
    value = block.get(key)
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any, where: str) -> list[Any]:
    """A list field (a bracket form may also deliver it as an index-keyed object)."""
    # contract §7.3: a one-element list arrives as key[0], which the parser turns back into a list;
    # a sparse or odd-keyed object is kept as a mapping, which we read in arrival order.
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        return list(value.values())
    raise MalformedEvent(where, "is not a list")


def required(block: Mapping[str, Any], key: str, where: str) -> Any:
    """A field that must be present and non-empty."""
    value = block.get(key)
    if value is None or value == "":
        raise MalformedEvent(where)
    return value


def required_str(block: Mapping[str, Any], key: str, where: str) -> str:
    """A required string field."""
    return as_str(required(block, key, where), where)


def optional_str(block: Mapping[str, Any], key: str, where: str) -> str | None:
    """A string field, ``None`` when absent."""
    value = block.get(key)
    return None if value is None else as_str(value, where)


def optional_int(block: Mapping[str, Any], key: str, where: str) -> int | None:
    """An integer field, ``None`` when absent or empty."""
    value = block.get(key)
    return None if value is None or value == "" else as_int(value, where)


def as_str(value: Any, where: str) -> str:
    """A scalar as a string."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise MalformedEvent(where, "is not a string")


def as_int(value: Any, where: str) -> int:
    """A scalar as a 64-bit integer."""
    # contract §7.3/§14.8: numbers arrive as strings on the wire, as ints in the docs' JSON.
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif (
        isinstance(value, str)
        and value.isascii()
        and value.strip().lstrip("-").isdigit()
        and len(value) <= 20
    ):
        number = int(value)
    # Ids end up in BIGINT columns; anything outside 64 bits is not a Bitrix24 id.
    if number is None or not -(2**63) <= number < 2**63:
        raise MalformedEvent(where, "is not an integer")
    return number
