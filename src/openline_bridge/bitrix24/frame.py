"""The POST Bitrix24 makes when it opens one of our pages in a frame (contract §6.3, §10), and its checks.

Bitrix24 splits the fields: ``DOMAIN``, ``PROTOCOL``, ``LANG``, ``APP_SID`` in the query string; tokens,
``member_id`` and the placement in a urlencoded body. :func:`read_frame` merges both into one flat mapping
(body over query, like the official SDK), bounded in size. :func:`verified_portal` checks
``APPLICATION_TOKEN`` against the portal stored at install (pitfall P8). Both refuse with
:class:`FrameRefused`, which :func:`refusal_page` shows as a readable page inside the frame.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from openline_bridge.bitrix24.errors import MalformedForm
from openline_bridge.bitrix24.formdata import parse_form
from openline_bridge.crypto import SecretBox
from openline_bridge.errors import BridgeError
from openline_bridge.store import portals
from openline_bridge.store.database import Database
from openline_bridge.store.portals import PortalRecord
from openline_bridge.web.i18n import Language, pick_language
from openline_bridge.web.rendering import render_page

__all__ = [
    "MAX_FRAME_BYTES",
    "FrameFields",
    "FrameRefused",
    "bad_request",
    "claimed_portal_origin",
    "portal_origin",
    "read_frame",
    "refusal_page",
    "serve_frame",
    "verify_frame",
]

# A frame POST is a few hundred bytes (contract §10); our own follow-up forms add an origin list.
MAX_FRAME_BYTES = 64 * 1024
_FORM_TYPE = "application/x-www-form-urlencoded"
_HOST_PORT = re.compile(r"^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?(?::\d{1,5})?$")


class FrameRefused(BridgeError):
    """A page request is refused; shown by :func:`refusal_page` with ``status_code`` and a message key.

    ``frame_ancestors`` are the origins allowed to frame the refusal page (so the admin can read it in
    the Bitrix24 frame); ``fields`` fill the message's placeholders.
    """

    def __init__(
        self,
        status_code: int,
        message_key: str,
        *,
        frame_ancestors: tuple[str, ...] = (),
        **fields: str,
    ) -> None:
        self.status_code = status_code
        self.message_key = message_key
        self.frame_ancestors = frame_ancestors
        self.fields = fields
        super().__init__(f"{status_code} {message_key}")


def bad_request(problem: str) -> FrameRefused:
    """A 400 refusal naming what is wrong with the request."""
    return FrameRefused(400, "bad_request", problem=problem)


@dataclass(frozen=True)
class FrameFields:
    """The flat string fields of a frame POST (nested or repeated keys are dropped)."""

    values: Mapping[str, str]

    def __repr__(self) -> str:
        # AUTH_ID and REFRESH_ID are credentials: never in a log line or a traceback.
        return f"FrameFields(keys={sorted(self.values)!r})"

    def get(self, name: str) -> str | None:
        """The field's value, or None when absent or empty."""
        return self.values.get(name) or None


async def read_frame(request: Request) -> FrameFields:
    """Read the query string and the urlencoded body of ``request`` into one flat mapping."""
    content_type = request.headers.get("content-type", _FORM_TYPE).split(";")[0].strip().lower()
    if content_type != _FORM_TYPE:
        raise bad_request(f"the body must be {_FORM_TYPE}")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FRAME_BYTES:
        raise FrameRefused(413, "too_large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FRAME_BYTES:
            raise FrameRefused(413, "too_large")
    try:
        form = parse_form(bytes(body), max_bytes=MAX_FRAME_BYTES)
    except MalformedForm:
        raise bad_request("the form cannot be read") from None
    values = dict(request.query_params.items())
    values.update({key: value for key, value in form.items() if isinstance(value, str)})
    return FrameFields(values)


async def verify_frame(database: Database, box: SecretBox, frame: FrameFields) -> PortalRecord:
    """The installed portal that sent ``frame``, proven by its ``APPLICATION_TOKEN``; else refuse (401)."""
    member_id = frame.get("member_id")
    application_token = frame.get("APPLICATION_TOKEN")
    portal: PortalRecord | None = None
    if member_id and application_token:
        async with database.transaction() as session:
            # Constant-time comparison (pitfall P8); an unknown portal and a wrong token look the same.
            if await portals.verify_application_token(session, box, member_id, application_token):
                portal = await portals.find(session, member_id)
    if portal is None:
        claimed = claimed_portal_origin(frame.get("DOMAIN"), frame.get("PROTOCOL"))
        raise FrameRefused(401, "unauthorized", frame_ancestors=(claimed,) if claimed else ())
    return portal


async def serve_frame(
    request: Request, handler: Callable[[FrameFields, Language], Awaitable[Response]]
) -> Response:
    """Read the frame POST and answer it with ``handler``; any :class:`FrameRefused` becomes its page.

    The page language is Bitrix24's ``LANG`` (query string, or the body of our own forms).
    """
    language = pick_language(request.query_params.get("LANG"))
    try:
        frame = await read_frame(request)
        language = pick_language(frame.get("LANG"))
        return await handler(frame, language)
    except FrameRefused as refused:
        return refusal_page(refused, language)


def refusal_page(refused: FrameRefused, language: Language) -> HTMLResponse:
    """The page that explains a refusal, framable by the origins the refusal names."""
    return render_page(
        "error.html",
        language=language,
        frame_ancestors=refused.frame_ancestors,
        status_code=refused.status_code,
        message_key=refused.message_key,
        fields=refused.fields,
    )


def portal_origin(portal: PortalRecord) -> str:
    """The origin the portal's pages are served from, from the ``client_endpoint`` stored at install."""
    parts = urlsplit(portal.client_endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def claimed_portal_origin(domain: str | None, protocol: str | None) -> str | None:
    """The origin a frame POST claims (query ``DOMAIN`` + ``PROTOCOL``, contract §10), if well-formed.

    Only used to let an unverified request's error page show inside its frame; a value that is not a
    plain ``host[:port]`` gives None, so nothing from the request can reach the CSP header unchecked.
    """
    host = (domain or "").strip().lower()
    if not _HOST_PORT.match(host):
        return None
    # contract §10: PROTOCOL 0 = http, 1 = https.
    return f"{'http' if protocol == '0' else 'https'}://{host}"
