"""The application's main page inside Bitrix24 (``POST /b24/app``, the app's handler path).

Bitrix24 opens it in a frame with the same fields as a placement (contract §6.3, §10); after verifying
``APPLICATION_TOKEN`` it shows what the bridge knows about the portal: every line with its connector
state and widget key, the outbox figures, the last health check and the latest errors. Read-only: it
has no forms and calls nothing at Bitrix24.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from openline_bridge.bitrix24.frame import FrameFields, portal_origin, serve_frame, verify_frame
from openline_bridge.services import Services, get_services
from openline_bridge.store import lines, outbox, portal_errors, widgets
from openline_bridge.store.lines import LineRecord
from openline_bridge.store.portals import PortalRecord
from openline_bridge.store.widgets import WidgetRecord
from openline_bridge.web.i18n import Language
from openline_bridge.web.rendering import format_time, render_page

__all__ = ["AppView", "ErrorRow", "HealthView", "LineRow", "router"]

router = APIRouter()

_SHOWN_ERRORS = 20
# Fields of the stored check result shown elsewhere on the page (or not worth repeating).
_HEALTH_SHOWN_APART = frozenset({"healthy", "problems", "checked_at", "member_id", "domain"})


@dataclass(frozen=True)
class LineRow:
    """One line on the app page."""

    bitrix_line_id: int
    name: str | None
    connect_desired: bool
    state: str  # "ready", "not_ready", "error" or "unknown" (never checked)
    checked_at: str | None
    widget_key: str | None

    @classmethod
    def of(cls, line: LineRecord, widget: WidgetRecord | None) -> LineRow:
        """The row of a stored line and its widget."""
        status = line.last_status
        if status is None:
            state = "unknown"
        elif status.error:
            state = "error"
        else:
            state = "ready" if status.status else "not_ready"
        return cls(
            bitrix_line_id=line.bitrix_line_id,
            name=line.name,
            connect_desired=line.connect_desired,
            state=state,
            checked_at=format_time(line.status_checked_at),
            widget_key=widget.public_key if widget else None,
        )


@dataclass(frozen=True)
class ErrorRow:
    """One recorded failure on the app page."""

    at: str | None
    origin: str
    code: str
    message: str


@dataclass(frozen=True)
class AppView:
    """Everything ``app.html`` shows."""

    domain: str
    connector_id: str
    lines: list[LineRow]
    outbox: list[tuple[str, int]]  # (status, count) for every outbox status
    outbox_total: int
    health: HealthView
    errors: list[ErrorRow]


@dataclass(frozen=True)
class HealthView:
    """The last health check (``health.PortalHealth.as_dict`` as stored), read tolerantly."""

    checked_at: str | None
    healthy: bool | None
    problems: list[ErrorRow]  # `at` is None: the check time is shown once
    details: list[tuple[str, str]]  # the other fields, nested values as compact JSON

    @classmethod
    def of(cls, portal: PortalRecord) -> HealthView:
        """What the portal's stored check result says."""
        result: Mapping[str, Any] = portal.last_check_result or {}
        healthy = result.get("healthy")
        problems = [
            ErrorRow(None, str(item.get("area", "")), str(item.get("code", "")), str(item.get("message", "")))
            for item in result.get("problems") or ()
            if isinstance(item, Mapping)
        ]
        details = [
            (
                str(key),
                value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str),
            )
            for key, value in result.items()
            if key not in _HEALTH_SHOWN_APART
        ]
        return cls(
            checked_at=format_time(portal.last_check_at),
            healthy=healthy if isinstance(healthy, bool) else None,
            problems=problems,
            details=details,
        )


@router.post("/b24/app", include_in_schema=False)
async def app_page(request: Request) -> Response:
    """The portal's overview: lines, outbox, health, errors."""
    return await serve_frame(request, partial(_overview, get_services(request)))


async def _overview(services: Services, frame: FrameFields, language: Language) -> Response:
    portal = await verify_frame(services.database, services.secret_box, frame)
    async with services.database.read() as session:
        known_lines = await lines.list_for_portal(session, portal.id)
        line_widgets = await widgets.list_for_portal(session, portal.id)
        counts = await outbox.count_by_status(session, portal.id)
        errors = await portal_errors.latest(session, portal.id, limit=_SHOWN_ERRORS)
    page = AppView(
        domain=portal.domain,
        connector_id=services.settings.connector_id,
        lines=[LineRow.of(line, line_widgets.get(line.id)) for line in known_lines],
        outbox=[(status.value, count) for status, count in counts.items()],
        outbox_total=sum(counts.values()),
        health=HealthView.of(portal),
        errors=[ErrorRow(format_time(e.occurred_at), e.origin, e.code, e.message) for e in errors],
    )
    return render_page("app.html", language=language, frame_ancestors=(portal_origin(portal),), page=page)
