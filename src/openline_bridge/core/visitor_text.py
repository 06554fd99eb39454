"""What the bridge sends to Bitrix24 on a visitor's behalf: text and names in Bitrix24's rules."""

from __future__ import annotations

import re
import unicodedata

# A zero-width space after "[" keeps Bitrix24 from reading a visitor's text as BB-code, while the
# operator still sees the same characters.
_ZERO_WIDTH_SPACE = "\u200b"
_TAG_LIKE = re.compile(r"\[(?=/?[A-Za-z*]{1,16}(?:=[^\]]*)?\])")
NAME_MAX_LENGTH = 25  # contract §8.7 / pitfall P14: letters, spaces, hyphens, apostrophes, ≤ 25 chars


def neutralise_bbcode(text: str) -> str:
    """Make every tag-like ``[...]`` sequence inert so the visitor cannot format operator views."""
    return _TAG_LIKE.sub("[" + _ZERO_WIDTH_SPACE, text)


def clean_name(raw: str | None) -> str | None:
    """A visitor name reduced to what Bitrix24 accepts, or None when nothing usable is left."""
    if not raw:
        return None
    kept: list[str] = []
    for char in unicodedata.normalize("NFC", raw):
        if char.isalpha() or char in "-'":
            kept.append(char)
        elif char.isspace() or char in "._":
            kept.append(" ")
        elif char in "\u2019`":
            kept.append("'")
    name = " ".join("".join(kept).split())
    name = name[:NAME_MAX_LENGTH].rstrip(" -'")
    return name.lstrip(" -'") or None


def split_full_name(raw: str | None) -> tuple[str | None, str | None]:
    """First and last name for Bitrix24's `name`/`last_name`, each cleaned."""
    cleaned = clean_name(raw) if raw and len(raw) <= 200 else clean_name((raw or "")[:200])
    if cleaned is None:
        return None, None
    first, _, last = cleaned.partition(" ")
    return first, clean_name(last)
