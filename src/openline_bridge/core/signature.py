"""The operator signature Bitrix24 puts in front of operator text.

With NEED_SIGNATURE on (the default), operator text arrives as ``[b]Name:[/b][br] Text`` (the
source's format) or ``[b]Name:[/b] [br]Text`` (the docs' example); contract §9.1 and §14.7. The
bridge shows the name as the message author instead of inside the text.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_SIGNATURE = re.compile(r"^\[b\]([^\[\]\r\n]{1,100}?):\[/b\] ?\[br\] ?", re.IGNORECASE)


@dataclass(frozen=True)
class SignedText:
    """Operator text split into the signature's author name (if any) and the rest."""

    author_name: str | None
    text: str


def split_signature(text: str) -> SignedText:
    """Remove a leading operator signature and return it as the author name."""
    match = _SIGNATURE.match(text)
    if match is None:
        return SignedText(None, text)
    # contract §9.1: names pass through htmlspecialchars_decode on the Bitrix24 side; entities may remain.
    name = html.unescape(match.group(1)).strip()
    return SignedText(name or None, text[match.end() :])
