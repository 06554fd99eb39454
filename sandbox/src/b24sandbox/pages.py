"""Browser pages of the sandbox: the index, `/bx24.js`, static files, the frame that hosts an app's
install page, and the routers of the operator console, Contact Center and Apps pages (`web/`).

The install frame POSTs the install form of contract §6.3 into an iframe and answers the frame's
`BX24.init` / `BX24.installFinish` messages (`static/frame-host.js`), like the portal page around a
real app frame.
"""

from __future__ import annotations

from importlib import resources
from urllib.parse import quote, urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from b24sandbox import apps
from b24sandbox.control.deps import PortalDep
from b24sandbox.web import apps_page, console, contact_center
from b24sandbox.web.render import PageError, page_errors, render, render_frame

router = APIRouter(include_in_schema=False)
for _module in (console, contact_center, apps_page):
    router.include_router(_module.router)

_MEDIA_TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def _static(name: str) -> str | None:
    """Text of a file in `static/`, or None when there is no such (servable) file."""
    suffix = name[name.rfind(".") :] if "." in name else ""
    entry = resources.files("b24sandbox").joinpath("static", name)
    if "/" in name or suffix not in _MEDIA_TYPES or not entry.is_file():
        return None
    return entry.read_text(encoding="utf-8")


@router.get("/")
async def index(portal: PortalDep) -> Response:
    """Links to the portal's pages, the control API and each app's install frame."""
    ui_apps = [a for a in portal.apps.values() if not a.api_only]
    return render("index.html", title="Portal", portal=portal, ui_apps=ui_apps)


@router.get("/bx24.js")
async def bx24_js() -> Response:
    """The sandbox's stand-in for the BX24 JS SDK."""
    return await static_file("bx24.js")


@router.get("/static/{name}")
async def static_file(name: str) -> Response:
    """A script or style sheet of the pages."""
    text = _static(name)
    if text is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(text, media_type=_MEDIA_TYPES[name[name.rfind(".") :]])


@router.get("/apps/{client_id}/install")
@page_errors
async def install_frame(client_id: str, portal: PortalDep) -> Response:
    """Install an app with UI in the browser: the install form goes into a frame (contract §6.3)."""
    app = portal.apps.get(client_id)
    if app is None or not app.install_url:
        raise PageError(404, f"no app with an install URL under client_id {client_id!r}")
    pair = apps.begin_install(portal, app, user_id=1)
    frame = apps.install_page(portal, app, pair)
    finish_query = urlencode({"APP_SID": app.app_sid})
    finish_url = f"/_sandbox/apps/{quote(client_id, safe='')}/install-finish?{finish_query}"
    return render_frame(frame, heading=f"Installing {app.name}", state="installing…", finish_url=finish_url)
