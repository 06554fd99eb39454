"""Browser pages of the sandbox: the index, `/bx24.js`, and the frame that hosts an app's install page.

The install frame POSTs the install form of contract §6.3 into an iframe and answers the frame's
`BX24.init` / `BX24.installFinish` messages, like the portal page around a real app frame.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from b24sandbox import apps
from b24sandbox.control.deps import ControlError, PortalDep

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem}}
iframe{{width:100%;height:80vh;border:1px solid #ccc}}</style>
</head><body>{body}</body></html>"""


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body))


@router.get("/")
async def index(portal: PortalDep) -> HTMLResponse:
    """Links to the portal, the control API and each app's install frame."""
    items = "".join(
        f'<li>{html.escape(a.name)} ({html.escape(a.client_id)}) — '
        f'<a href="/apps/{html.escape(a.client_id)}/install">open install page</a></li>'
        for a in portal.apps.values()
        if not a.api_only
    )
    body = (
        f"<h1>b24-sandbox</h1><p>Portal <code>{html.escape(portal.domain)}</code>, "
        f"member_id <code>{html.escape(portal.member_id)}</code></p><ul>"
        f"<li>REST: <code>{html.escape(portal.client_endpoint)}</code></li>"
        '<li><a href="/_sandbox/docs">Control API</a> (<a href="/_sandbox/openapi.json">OpenAPI</a>)</li>'
        '<li><a href="/bx24.js">bx24.js</a></li></ul>'
        f"<h2>Apps with an install page</h2><ul>{items or '<li>none</li>'}</ul>"
    )
    return _page("b24-sandbox", body)


@router.get("/bx24.js")
async def bx24_js() -> Response:
    """The sandbox's stand-in for the BX24 JS SDK."""
    source = resources.files("b24sandbox").joinpath("static/bx24.js").read_text(encoding="utf-8")
    return Response(source, media_type="application/javascript; charset=utf-8")


@router.get("/apps/{client_id}/install")
async def install_frame(client_id: str, portal: PortalDep) -> HTMLResponse:
    """Install an app with UI in the browser: the install form goes into a frame (contract §6.3)."""
    app = portal.apps.get(client_id)
    if app is None or not app.install_url:
        raise ControlError(404, "APP_NOT_FOUND", "No app with an install URL under that client_id")
    pair = apps.begin_install(portal, app, user_id=1)
    query, form = apps.install_page(portal, app, pair)
    separator = "&" if "?" in app.install_url else "?"
    action = app.install_url + separator + urlencode(query)
    fields = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(str(v))}">'
        for k, v in form.items()
    )
    auth = {
        "access_token": pair.access.token,
        "refresh_token": pair.refresh.token,
        "expires_in": pair.lifetime,
        "domain": portal.domain,
        "member_id": portal.member_id,
        "client_endpoint": portal.client_endpoint,
    }
    auth_json = json.dumps(auth).replace("<", "\\u003c")  # keep "</script>" out of the inline script
    finish_url = f"/_sandbox/apps/{client_id}/install-finish?" + urlencode({"APP_SID": app.app_sid})
    script = f"""<script>
const auth = {auth_json};
window.addEventListener("message", (event) => {{
  const data = event.data || {{}};
  if (data.type === "b24sandbox:init") {{ event.source.postMessage({{type: "b24sandbox:auth", auth}}, "*"); }}
  if (data.type === "b24sandbox:installFinish") {{
    fetch({json.dumps(finish_url)}, {{method: "POST"}}).then(() => {{
      document.getElementById("state").textContent = "installation finished";
    }});
  }}
}});
document.getElementById("install").submit();
</script>"""
    body = (
        f"<h1>{html.escape(app.name)}</h1><p id=\"state\">installing…</p>"
        f'<form id="install" method="post" target="app" action="{html.escape(action)}">{fields}</form>'
        f'<iframe name="app" title="app"></iframe>{script}'
    )
    return _page(app.name, body)
