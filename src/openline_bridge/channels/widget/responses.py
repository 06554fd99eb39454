"""The JSON response class of the visitor API: orjson, ``application/json; charset=utf-8`` (protocol §1)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["JsonReply"]


class JsonReply(Response):
    """A JSON body serialised with orjson (the message path is hot: protocol target p99 ≤ 15 ms)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
