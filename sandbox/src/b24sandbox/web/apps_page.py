"""The Apps page (`/apps/`): register a local app, install it (both variants of contract §6.2/§6.3),
uninstall it with or without CLEAN (§6.4), and open its main page in a frame (`PLACEMENT=DEFAULT`).

Installing an app with UI goes to the install frame (`pages.install_frame`), which marks the
installation finished when the framed page calls `BX24.installFinish()`.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from b24sandbox import apps, placements
from b24sandbox.control.apps import AppIn
from b24sandbox.control.deps import PortalDep, get_portal
from b24sandbox.portal import App, Portal
from b24sandbox.web.render import PageError, flash, page_errors, render, render_frame

router = APIRouter()


def _back(*, notice: str | None = None, error: str | None = None) -> RedirectResponse:
    query = {k: v for k, v in (("notice", notice), ("error", error)) if v is not None}
    return RedirectResponse("/apps/" + ("?" + urlencode(query) if query else ""), status_code=303)


def _app(portal: Portal, client_id: str) -> App:
    app = portal.apps.get(client_id)
    if app is None:
        raise PageError(404, f"no app with client_id {client_id!r}")
    return app


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@router.get("/apps/")
async def apps_list(request: Request, portal: PortalDep) -> Response:
    """Registered apps with their installation state and actions."""
    return render(
        "apps.html",
        title="Apps",
        **flash(request),
        apps=list(portal.apps.values()),
        default_scope=",".join(apps.DEFAULT_SCOPE),
    )


@router.post("/apps/")
async def register_app(request: Request) -> Response:
    """Register a local app from the form (contract §6.1)."""
    form = await request.form()
    scope = [s for s in re.split(r"[,\s]+", _field(form, "scope")) if s]
    try:
        fields = AppIn(
            name=_field(form, "name") or "Sandbox app",
            install_url=_field(form, "install_url"),
            handler_url=_field(form, "handler_url"),
            scope=scope or None,
            api_only=_field(form, "kind") != "ui",
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return _back(error=f"the app was not registered: {problems}")
    app = apps.create_app(
        get_portal(request),
        name=fields.name,
        install_url=fields.install_url,
        handler_url=fields.handler_url,
        scope=scope or None,
        api_only=fields.api_only,
    )
    return _back(notice=f"App {app.name} registered as {app.client_id}")


@router.post("/apps/{client_id}/install")
@page_errors
async def install(client_id: str, portal: PortalDep) -> Response:
    """API-only: POST ONAPPINSTALL server-to-server (§6.2); with UI: open the install frame (§6.3)."""
    app = _app(portal, client_id)
    if not app.api_only:
        return RedirectResponse(f"/apps/{quote(client_id, safe='')}/install", status_code=303)
    result = await apps.install(portal, app)
    if result.error is not None:
        return _back(error=f"{app.name} installed, but the install URL failed: {result.error}")
    answered = f", the install URL answered {result.status}" if result.status is not None else ""
    return _back(notice=f"{app.name} installed{answered}")


@router.post("/apps/{client_id}/uninstall")
@page_errors
async def uninstall(client_id: str, request: Request) -> Response:
    """Uninstall, keeping or cleaning the app's data (`CLEAN` of ONAPPUNINSTALL, contract §6.4)."""
    form = await request.form()
    app = _app(get_portal(request), client_id)
    if not app.installed:
        raise PageError(409, f"{app.name} is not installed")
    clean = _field(form, "clean") == "1"
    apps.uninstall(get_portal(request), app, clean=clean)
    return _back(notice=f"{app.name} uninstalled" + (" and its data cleaned" if clean else ""))


@router.get("/apps/{client_id}/open")
@page_errors
async def open_app(client_id: str, portal: PortalDep) -> Response:
    """The app's main page (handler URL) in a frame with the `PLACEMENT=DEFAULT` POST."""
    app = _app(portal, client_id)
    if app.installed and not app.install_finished and app.install_url:
        # contract §6.3: until installFinish the portal shows the install page again.
        return RedirectResponse(f"/apps/{quote(client_id, safe='')}/install", status_code=303)
    try:
        frame = placements.main_page(portal, app)
    except placements.PlacementHiddenError as exc:
        raise PageError(409, str(exc)) from None
    except placements.PlacementNotFoundError as exc:
        raise PageError(404, str(exc)) from None
    return render_frame(frame, heading=app.name, state="")
