"""The Contact Center (`/contact_center/`): every line × registered connector with its state, line
creation, and the connector slider that opens `PLACEMENT_HANDLER` in a frame (contract §10).

The slider lives at `placements.CONNECTOR_PAGE`, the page the `URI` option of `PLACEMENT_OPTIONS`
names. Connectors of apps whose installation is not finished show no Connect button and their
slider refuses to open (contract §6.3).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from b24sandbox import placements
from b24sandbox.control.deps import PortalDep, get_portal
from b24sandbox.portal import Portal
from b24sandbox.web.render import PageError, flash, page_errors, parse_id, render, render_frame

router = APIRouter()

MAX_LINE_NAME = 255


def _openable(portal: Portal, client_id: str) -> bool:
    app = portal.apps.get(client_id)
    return app is not None and app.installed and app.install_finished


def _grid(portal: Portal) -> list[dict[str, Any]]:
    """One row per line, one cell per registered connector."""
    openlines = portal.openlines
    connectors = list(openlines.connectors.values())
    return [
        {
            "line": line,
            "cells": [
                {
                    "connector": c,
                    "row": openlines.find_status(c.connector_id, line.line_id),
                    "openable": _openable(portal, c.client_id),
                    "href": placements.CONNECTOR_PAGE
                    + "?"
                    + urlencode({"ID": c.connector_id, "LINE": line.line_id}),
                }
                for c in connectors
            ],
        }
        for line in openlines.lines.values()
    ]


@router.get("/contact_center/")
async def contact_center(request: Request, portal: PortalDep) -> Response:
    """Lines × connectors with their status flags (contract §8.14)."""
    return render(
        "contact_center.html",
        title="Contact Center",
        **flash(request),
        connectors=list(portal.openlines.connectors.values()),
        grid=_grid(portal),
    )


@router.post("/contact_center/lines")
async def create_line(request: Request) -> Response:
    """Create an open line from the Contact Center."""
    form = await request.form()
    name = form.get("name")
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > MAX_LINE_NAME:
        query = urlencode({"error": f"a line needs a name of 1 to {MAX_LINE_NAME} characters"})
        return RedirectResponse(f"/contact_center/?{query}", status_code=303)
    line = get_portal(request).openlines.add_line(name)
    query = urlencode({"notice": f"Line {line.name} (#{line.line_id}) created"})
    return RedirectResponse(f"/contact_center/?{query}", status_code=303)


@router.get(placements.CONNECTOR_PAGE)
@page_errors
async def connector_slider(request: Request, portal: PortalDep) -> Response:
    """The connector's settings page in a frame: `?ID=<connector>&LINE=<line>`; without LINE, pick one."""
    connector_id = request.query_params.get("ID") or ""
    connector = portal.openlines.find_connector(connector_id)
    if connector is None:
        raise PageError(404, f"no connector {connector_id!r}")
    line_value = request.query_params.get("LINE")
    if line_value is None:
        return render(
            "connector_lines.html",
            title=connector.name,
            connector=connector,
            lines=list(portal.openlines.lines.values()),
        )
    line_id = parse_id(line_value, "line")
    try:
        frame = placements.setting_connector(portal, connector.connector_id, line_id)
    except placements.PlacementHiddenError as exc:
        raise PageError(409, str(exc)) from None
    except placements.PlacementNotFoundError as exc:
        raise PageError(404, str(exc)) from None
    line = portal.openlines.lines[line_id]
    return render_frame(frame, heading=f"{connector.name} on line {line.name}", state="settings page opened")
