"""File names as Bitrix24 keeps them."""

from __future__ import annotations

import re
import unicodedata

BITRIX_NAME_LIMIT = 50  # pitfall P16: Bitrix24 keeps only the last 50 characters of a file name
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|&#%]+")


def safe_file_name(raw: str, *, limit: int = BITRIX_NAME_LIMIT, fallback: str = "file") -> str:
    """A name without path parts or characters Bitrix24 mangles (`&`), shortened to `limit`
    characters from the end of the stem so the extension survives."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" .") or fallback
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 10:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    room = max(1, limit - len(suffix))
    return (stem[:room].rstrip(" .") or fallback[:room]) + suffix
