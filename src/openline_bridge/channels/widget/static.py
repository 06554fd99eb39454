"""Serving the widget bundles ``/widget.js`` and ``/widget-app.js`` (docs/protocol.md §8).

The loader is cached briefly (sites embed its URL forever, so a new release must reach them); the app
chunk is requested with ``?v=<content hash>`` and is then immutable. Both carry a strong ETag.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["router"]

router = APIRouter(tags=["widget bundle"])

_MEDIA_TYPE = "text/javascript; charset=utf-8"
_LOADER_CACHE = "public, max-age=300"
_IMMUTABLE_CACHE = "public, max-age=31536000, immutable"


@cache
def _bundle(name: str) -> tuple[bytes, str]:
    """A built bundle shipped in the package and its ETag (read once: the files never change at run time)."""
    body = resources.files(__package__).joinpath("static", name).read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _serve(request: Request, name: str, cache_control: str) -> Response:
    body, etag = _bundle(name)
    headers = {"Cache-Control": cache_control, "ETag": etag, "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=_MEDIA_TYPE, headers=headers)


@router.get("/widget.js", response_class=Response)
async def loader(request: Request) -> Response:
    """The loader sites embed with ``<script src=".../widget.js" data-widget="KEY" async>``."""
    return _serve(request, "widget.js", _LOADER_CACHE)


@router.get("/widget-app.js", response_class=Response)
async def app_chunk(request: Request) -> Response:
    """The app chunk the loader fetches; immutable when requested with its ``v`` content hash."""
    versioned = "v" in request.query_params
    return _serve(request, "widget-app.js", _IMMUTABLE_CACHE if versioned else _LOADER_CACHE)
