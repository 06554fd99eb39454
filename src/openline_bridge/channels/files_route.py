"""Serving stored files through signed URLs: the visitor's expiring links (docs/protocol.md §6.9) and the
links Bitrix24 downloads visitor files from (contract §8.7 ``files[].url``).

Include ``router`` in the application and set ``app.state.relay`` to the process's :class:`Relay`.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from openline_bridge.relay.context import Relay
from openline_bridge.relay.errors import RelayError
from openline_bridge.relay.uploads import ServedFile, open_for_bitrix, open_for_visitor
from openline_bridge.web.errors import error_response

__all__ = ["get_relay", "router"]

router = APIRouter()

_STATUS = {"link_expired": 403, "not_found": 404}


def get_relay(request: Request) -> Relay:
    """The process's relay (``app.state.relay``)."""
    relay: Relay = request.app.state.relay
    return relay


def _file_response(served: ServedFile) -> Response:
    # protocol §6.9: never let a browser reinterpret an uploaded file as a page.
    disposition = "inline" if served.mime_type.startswith("image/") else "attachment"
    return FileResponse(
        served.path,
        media_type=served.mime_type,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(served.name)}",
            "Cache-Control": "private, max-age=3600",
        },
    )


def _refusal(exc: RelayError) -> Response:
    return error_response(_STATUS.get(exc.code, 404), exc.code, str(exc))


@router.get("/api/v1/files/{attachment_id}/{name}", include_in_schema=False)
async def visitor_file(
    request: Request, attachment_id: str, name: str, exp: str = Query(""), sig: str = Query("")
) -> Response:
    """A file for the visitor's client; ``exp``/``sig`` must be a valid, unexpired signature."""
    try:
        return _file_response(await open_for_visitor(get_relay(request), attachment_id, exp, sig))
    except RelayError as exc:
        return _refusal(exc)


@router.get("/files/{attachment_id}/{signature}/{name}", include_in_schema=False)
async def bitrix_file(request: Request, attachment_id: str, signature: str, name: str) -> Response:
    """A visitor's file for Bitrix24 to download."""
    try:
        return _file_response(await open_for_bitrix(get_relay(request), attachment_id, signature))
    except RelayError as exc:
        return _refusal(exc)
