"""The widget's public configuration and limits as the session response gives them (docs/protocol.md §6.1).

The stored look and greeting are whatever the admin's settings page saved; every member is checked
against the protocol's allowed values here and falls back to its default, so a client never receives
a value it is not prepared for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from openline_bridge.relay.files import FilePolicy

__all__ = ["limits_json", "public_config"]

_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_TITLE_MAX = 60
_GREETING_MAX = 500
_CHOICES = {
    "language": ("auto", "en", "ru"),
    "theme": ("auto", "light", "dark"),
    "position": ("right", "left"),
}
_DEFAULTS: dict[str, Any] = {
    "title": "Support",
    "greeting": "",
    "language": "auto",
    "theme": "auto",
    "position": "right",
    "accent_color": "#0B57D0",
    "prechat_form": False,
}


def _text(value: Any, limit: int, default: str) -> str:
    return value.strip()[:limit] if isinstance(value, str) else default


def _greeting(greeting: Mapping[str, Any], language: str) -> str:
    # The settings page may store one text or one per language ({"en": ..., "ru": ...}).
    value = greeting.get("text", greeting.get(language, greeting.get("en")))
    return _text(value, _GREETING_MAX, _DEFAULTS["greeting"])


def public_config(look: Mapping[str, Any], greeting: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` of the session response from the widget's stored look and greeting."""
    config: dict[str, Any] = {
        name: look.get(name) if look.get(name) in choices else _DEFAULTS[name]
        for name, choices in _CHOICES.items()
    }
    color = look.get("accent_color")
    prechat = look.get("prechat_form")
    return {
        "title": _text(look.get("title"), _TITLE_MAX, _DEFAULTS["title"]) or _DEFAULTS["title"],
        "greeting": _greeting(greeting, config["language"]),
        **config,
        "accent_color": color
        if isinstance(color, str) and _COLOR.match(color)
        else _DEFAULTS["accent_color"],
        "prechat_form": prechat if isinstance(prechat, bool) else _DEFAULTS["prechat_form"],
    }


def limits_json(policy: FilePolicy, message_max_chars: int) -> dict[str, Any]:
    """``limits`` of the session response: what the relay enforces."""
    return {
        "message_max_chars": message_max_chars,
        "file_max_bytes": policy.max_bytes,
        "file_types": sorted(policy.types),
        "attachments_per_message": policy.per_message,
    }
