"""The connector's ``SETTING_CONNECTOR`` placement page (``POST /b24/settings``, contract §10).

Bitrix24 opens it in a frame when an admin picks a line for our connector in the Contact Center. Two
kinds of POST arrive here:

- the **opening** from Bitrix24: ``APPLICATION_TOKEN`` is verified against the stored portal, the line
  and its widget are created on first visit, the flags of ``PLACEMENT_OPTIONS`` and a live
  ``imconnector.status`` (with the admin's ``AUTH_ID``) are shown;
- an **action** from one of the page's own forms (``action`` = ``connect``, ``disconnect`` or
  ``save_origins``): it carries a CSRF token bound to the portal and line instead of the application
  token, and the ``AUTH_ID`` for the REST calls, in the body only.

No script runs on the page; every answer is a full page, errors included (never a bare 500).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from openline_bridge.bitrix24.errors import (
    AmbiguousError,
    Bitrix24Error,
    RetryableError,
    TokenExpiredError,
)
from openline_bridge.bitrix24.frame import (
    FrameFields,
    FrameRefused,
    bad_request,
    portal_origin,
    serve_frame,
    verify_frame,
)
from openline_bridge.core.origins import InvalidOrigin, parse_origin_list
from openline_bridge.logging import get_logger
from openline_bridge.relay import lines as line_actions
from openline_bridge.relay.lines import LineTarget, OpenedLine
from openline_bridge.services import Services, get_services
from openline_bridge.store import portals, widgets
from openline_bridge.store.lines import LineStatus
from openline_bridge.store.portals import PortalRecord
from openline_bridge.store.types import utc_now
from openline_bridge.store.widgets import WidgetRecord
from openline_bridge.web.csrf import CsrfRefused, CsrfSigner
from openline_bridge.web.i18n import Language
from openline_bridge.web.rendering import render_page

__all__ = ["PlacementOptions", "Problem", "embed_code", "parse_placement_options", "problem_of", "router"]

router = APIRouter()
_log = get_logger(__name__)

_PLACEMENT = "SETTING_CONNECTOR"
_ACTIONS = ("connect", "disconnect", "save_origins")


@dataclass(frozen=True)
class PlacementOptions:
    """``PLACEMENT_OPTIONS`` of a ``SETTING_CONNECTOR`` opening (contract §10); flags None when absent."""

    connector_id: str
    bitrix_line_id: int
    active: bool | None
    connection: bool | None
    register: bool | None
    error: bool | None
    status: bool | None

    @property
    def configured(self) -> bool | None:
        """contract §8.14: CONFIGURED = ACTIVE ∧ CONNECTION ∧ REGISTER."""
        flags = (self.active, self.connection, self.register)
        return None if None in flags else all(flags)


@dataclass(frozen=True)
class Problem:
    """A Bitrix24 failure as the page explains it: a message key, the code, Bitrix24's description."""

    code: str
    message_key: str
    description: str


def _flag(value: Any) -> bool | None:
    # contract §10: JSON booleans; tolerate the "Y"/"N" and "1"/"0" spellings found elsewhere in the API.
    if isinstance(value, bool):
        return value
    if isinstance(value, int | str):
        text = str(value).strip().upper()
        if text in ("Y", "TRUE", "1"):
            return True
        if text in ("N", "FALSE", "0", ""):
            return False
    return None


def _positive_int(value: Any) -> int | None:
    text = str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else ""
    return int(text) if text.isdigit() and 0 < int(text) < 2**31 else None


def parse_placement_options(raw: str | None) -> PlacementOptions:
    """Read ``PLACEMENT_OPTIONS`` (a JSON string; ``LINE`` arrives as a string, contract §10)."""
    if not raw:
        raise bad_request("PLACEMENT_OPTIONS is missing")
    try:
        options = json.loads(raw)
    except ValueError:
        raise bad_request("PLACEMENT_OPTIONS is not JSON") from None
    if not isinstance(options, dict):
        raise bad_request("PLACEMENT_OPTIONS is not a JSON object")
    connector_id = options.get("CONNECTOR")
    line = _positive_int(options.get("LINE"))
    if not isinstance(connector_id, str) or not connector_id:
        raise bad_request("PLACEMENT_OPTIONS has no CONNECTOR")
    if line is None:
        raise bad_request("PLACEMENT_OPTIONS has no valid LINE")
    return PlacementOptions(
        connector_id=connector_id.lower(),  # contract §10: Bitrix24 sends the lower-cased id
        bitrix_line_id=line,
        active=_flag(options.get("ACTIVE_STATUS")),
        connection=_flag(options.get("CONNECTION_STATUS")),
        register=_flag(options.get("REGISTER_STATUS")),
        error=_flag(options.get("ERROR_STATUS")),
        status=_flag(options.get("STATUS")),
    )


def problem_of(error: Bitrix24Error) -> Problem:
    """How the page explains a failed Bitrix24 call."""
    if isinstance(error, TokenExpiredError):
        key = "bitrix_expired"  # contract §5.4: the admin's AUTH_ID lives one hour and is not ours to refresh
    elif isinstance(error, RetryableError | AmbiguousError):
        key = "bitrix_unreachable"
    else:
        key = "bitrix_refused"  # e.g. WRONG_AUTH_TYPE, ERROR_ARGUMENT (contract §8.3)
    return Problem(error.code, key, error.description)


def embed_code(public_url: str, public_key: str) -> str:
    """The one line a website adds to get the widget (the template escapes it for the textarea)."""
    return f'<script src="{public_url}/widget.js" data-widget="{public_key}" async></script>'


@lru_cache(maxsize=4)
def _signer(secret_key: str) -> CsrfSigner:
    return CsrfSigner(secret_key)


def _csrf(services: Services) -> CsrfSigner:
    return _signer(services.settings.secret_key.get_secret_value())


@dataclass(frozen=True)
class _Outcome:
    """What an opening or an action leaves to show."""

    opened: PlacementOptions | None = None
    current: LineStatus | None = None
    notice: str | None = None
    problem: Problem | None = None
    origins_text: str | None = None
    origins_problem: str | None = None
    widget: WidgetRecord | None = None  # the widget as an action left it


@dataclass(frozen=True)
class SettingsView:
    """Everything ``settings.html`` shows."""

    bitrix_line_id: int
    notice: str | None
    problem: Problem | None
    opened: PlacementOptions | None  # the flags Bitrix24 sent with the opening
    current: LineStatus | None  # the flags just read from Bitrix24 (or left by an action)
    connected: bool
    has_error: bool
    widget_key: str
    embed_code: str
    origins_text: str
    origins_problem: str | None
    origins_empty: bool
    identity_secret: str | None

    def __repr__(self) -> str:
        return f"SettingsView(bitrix_line_id={self.bitrix_line_id})"  # holds the identity secret


@router.post("/b24/settings", include_in_schema=False)
async def settings_page(request: Request) -> Response:
    """Show or act on the connector's state on one line (the connector's ``PLACEMENT_HANDLER``)."""
    return await serve_frame(request, partial(_answer, get_services(request)))


async def _answer(services: Services, frame: FrameFields, language: Language) -> Response:
    if frame.get("action") is None:
        return await _open(services, frame, language)
    return await _act(services, frame, language)


async def _open(services: Services, frame: FrameFields, language: Language) -> Response:
    portal = await verify_frame(services.database, services.secret_box, frame)
    ancestors = (portal_origin(portal),)
    placement = frame.get("PLACEMENT")
    if placement != _PLACEMENT:
        problem = f"PLACEMENT is not {_PLACEMENT}"
        raise FrameRefused(400, "bad_request", frame_ancestors=ancestors, problem=problem)
    try:
        options = parse_placement_options(frame.get("PLACEMENT_OPTIONS"))
    except FrameRefused as refused:
        raise FrameRefused(400, "bad_request", frame_ancestors=ancestors, **refused.fields) from None
    ours = services.settings.connector_id
    if options.connector_id != ours:
        raise FrameRefused(
            400, "wrong_connector", frame_ancestors=ancestors, connector=options.connector_id, ours=ours
        )
    auth_id = frame.get("AUTH_ID")
    if auth_id is None:
        raise FrameRefused(400, "bad_request", frame_ancestors=ancestors, problem="AUTH_ID is missing")
    opened = await line_actions.open_line(
        services.database, services.secret_box, portal.id, options.bitrix_line_id, utc_now()
    )
    target = LineTarget(ours, opened.line)
    caller = services.bitrix24.for_token(portal.member_id, portal.client_endpoint, auth_id)
    try:
        current = await line_actions.check_status(services.database, caller, target, utc_now())
        outcome = _Outcome(opened=options, current=current)
    except Bitrix24Error as exc:
        outcome = _Outcome(opened=options, problem=problem_of(exc))
    _log.info(
        "placement.opened",
        member_id=portal.member_id,
        line=options.bitrix_line_id,
        error=outcome.problem.code if outcome.problem else None,
    )
    return _settings(services, portal, opened, auth_id, language, outcome)


async def _act(services: Services, frame: FrameFields, language: Language) -> Response:
    member_id = frame.get("member_id") or ""
    bitrix_line_id = _positive_int(frame.get("line"))
    async with services.database.transaction() as session:
        portal = await portals.find(session, member_id) if member_id else None
    ancestors = (portal_origin(portal),) if portal else ()
    try:
        # An unreadable line number is refused like a token for another line: nothing is called.
        _csrf(services).verify(frame.get("csrf_token"), member_id, bitrix_line_id or 0, time.time())
    except CsrfRefused as exc:
        _log.warning("placement.csrf_refused", member_id=member_id[:64], reason=exc.failure.value)
        raise FrameRefused(403, "csrf_refused", frame_ancestors=ancestors) from None
    if portal is None or bitrix_line_id is None:
        raise FrameRefused(401, "unauthorized")  # signed for a portal that has been uninstalled since
    action = frame.get("action")
    auth_id = frame.get("AUTH_ID")
    if action not in _ACTIONS:
        raise FrameRefused(400, "bad_request", frame_ancestors=ancestors, problem="unknown action")
    if auth_id is None:
        raise FrameRefused(400, "bad_request", frame_ancestors=ancestors, problem="AUTH_ID is missing")
    opened = await line_actions.open_line(
        services.database, services.secret_box, portal.id, bitrix_line_id, utc_now()
    )
    if action == "save_origins":
        outcome = await _save_origins(services, portal, opened, auth_id, frame.get("origins") or "")
    else:
        outcome = await _switch(services, portal, opened, auth_id, connect=action == "connect")
    return _settings(services, portal, opened, auth_id, language, outcome)


async def _switch(
    services: Services, portal: PortalRecord, opened: OpenedLine, auth_id: str, *, connect: bool
) -> _Outcome:
    target = LineTarget(services.settings.connector_id, opened.line)
    caller = services.bitrix24.for_token(portal.member_id, portal.client_endpoint, auth_id)
    try:
        if connect:
            data = line_actions.channel_data(services.settings.public_url, opened.widget)
            current = await line_actions.connect(services.database, caller, target, data, utc_now())
        else:
            current = await line_actions.disconnect(services.database, caller, target, utc_now())
    except Bitrix24Error as exc:
        outcome = _Outcome(problem=problem_of(exc))
    else:
        outcome = _Outcome(current=current, notice="connected_ok" if connect else "disconnected_ok")
    _log.info(
        "placement.connect" if connect else "placement.disconnect",
        member_id=portal.member_id,
        line=opened.line.bitrix_line_id,
        error=outcome.problem.code if outcome.problem else None,
    )
    return outcome


async def _save_origins(
    services: Services, portal: PortalRecord, opened: OpenedLine, auth_id: str, text: str
) -> _Outcome:
    try:
        origins = parse_origin_list(text)
    except InvalidOrigin as exc:
        return _Outcome(origins_text=text, origins_problem=str(exc))
    widget = await line_actions.save_allowed_origins(services.database, opened.widget, origins, utc_now())
    _log.info("placement.origins_saved", member_id=portal.member_id, line=opened.line.bitrix_line_id)
    problem = None
    if opened.line.connect_desired:
        # The channel link shown in Contact Center names the website (contract §8.5): keep it current.
        caller = services.bitrix24.for_token(portal.member_id, portal.client_endpoint, auth_id)
        target = LineTarget(services.settings.connector_id, opened.line)
        try:
            await line_actions.describe_channel(
                caller, target, line_actions.channel_data(services.settings.public_url, widget)
            )
        except Bitrix24Error as exc:
            problem = problem_of(exc)
    return _Outcome(notice="origins_saved", problem=problem, widget=widget)


def _settings(
    services: Services,
    portal: PortalRecord,
    opened: OpenedLine,
    auth_id: str,
    language: Language,
    outcome: _Outcome,
) -> Response:
    line = opened.line
    widget = outcome.widget or opened.widget
    current = outcome.current
    known = current or line.last_status
    public_url = services.settings.public_url
    page = SettingsView(
        bitrix_line_id=line.bitrix_line_id,
        notice=outcome.notice,
        problem=outcome.problem,
        opened=outcome.opened,
        current=current,
        connected=bool(known.status) if known else bool(outcome.opened and outcome.opened.status),
        has_error=bool(known.error) if known else bool(outcome.opened and outcome.opened.error),
        widget_key=widget.public_key,
        embed_code=embed_code(public_url, widget.public_key),
        origins_text=(
            outcome.origins_text if outcome.origins_text is not None else "\n".join(widget.allowed_origins)
        ),
        origins_problem=outcome.origins_problem,
        origins_empty=not widget.allowed_origins,
        identity_secret=widgets.open_identity_secret(services.secret_box, widget),
    )
    hidden = {
        "csrf_token": _csrf(services).issue(portal.member_id, line.bitrix_line_id, time.time()),
        "member_id": portal.member_id,
        "line": str(line.bitrix_line_id),
        "AUTH_ID": auth_id,
        "LANG": language,
    }
    return render_page(
        "settings.html", language=language, frame_ancestors=(portal_origin(portal),), page=page, hidden=hidden
    )
