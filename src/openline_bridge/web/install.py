"""``POST /b24/install``, the application's "initial installation path" (contract §6.2, §6.3).

Variant A, "API only": Bitrix24 posts ``ONAPPINSTALL`` server-to-server; the answer is JSON.
Variant B, app with UI: Bitrix24 opens this URL in a frame with ``AUTH_ID``, ``REFRESH_ID``,
``APPLICATION_TOKEN``… The same setup runs server-side, then the page loads the BX24 library
(``OLB_B24_JS_URL``) and calls ``BX24.installFinish()``, without which Bitrix24 delivers no events
(contract §6.3, pitfall P5). The page speaks English or Russian by ``LANG``.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from fastapi import APIRouter
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from openline_bridge.bitrix24.events import AppInstall
from openline_bridge.bitrix24.frame import FrameRefused, claimed_portal_origin, read_frame
from openline_bridge.relay.installation import InstallRefused, accept_install, request_from_frame
from openline_bridge.services import get_services
from openline_bridge.store.types import utc_now
from openline_bridge.web.errors import ApiError
from openline_bridge.web.events import install_answer, read_event
from openline_bridge.web.i18n import Language, pick_language, translator
from openline_bridge.web.rendering import page_headers

__all__ = ["router"]

router = APIRouter()

_TEXTS: dict[Language, dict[str, str]] = {
    "en": {
        "title": "openline-bridge: installation",
        "done": "The website chat connector is registered and its events are bound.",
        "next": "Next: Contact Center → “Website chat (openline-bridge)” → connect an open line.",
        "finishing": "Finishing the installation…",
        "finished": "Installation finished.",
        "no_library": "The Bitrix24 library did not load; reopen the application to finish installing.",
        "failed": "The installation could not be completed.",
        "retry": "Open the application again to retry; the bridge's health check also retries the setup.",
    },
    "ru": {
        "title": "openline-bridge: установка",
        "done": "Коннектор чата для сайта зарегистрирован, обработчики событий подключены.",
        "next": "Далее: Контакт-центр → «Website chat (openline-bridge)» → подключите открытую линию.",
        "finishing": "Завершаем установку…",
        "finished": "Установка завершена.",
        "no_library": (
            "Библиотека Битрикс24 не загрузилась; откройте приложение ещё раз, чтобы завершить установку."
        ),
        "failed": "Установку не удалось завершить.",
        "retry": "Откройте приложение ещё раз; проверка состояния моста также повторит настройку.",
    },
}

# The page needs one inline script and the BX24 library, which the shared page CSP forbids, so it is
# rendered here with its own policy; it still extends the shared base template.
_ENVIRONMENT = Environment(
    loader=PackageLoader("openline_bridge.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
)


def _script_source(js_url: str) -> str:
    """The CSP source for the BX24 library: its scheme and host (scheme-relative stays host-only)."""
    parts = urlsplit(js_url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme else parts.netloc


def _install_page(
    *, language: Language, js_url: str, portal_origin: str | None, problem: str | None, status: int
) -> HTMLResponse:
    style_nonce, script_nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    html = _ENVIRONMENT.get_template("install.html").render(
        lang=language,
        t=translator(language),
        text=_TEXTS[language],
        ok=problem is None,
        problem=problem,
        js_url=js_url,
        style_nonce=style_nonce,
        script_nonce=script_nonce,
    )
    headers = page_headers((portal_origin,) if portal_origin else (), style_nonce)
    headers["Content-Security-Policy"] = headers["Content-Security-Policy"].replace(
        "default-src 'none';",
        f"default-src 'none'; script-src 'nonce-{script_nonce}' {_script_source(js_url)};",
    )
    return HTMLResponse(html, status_code=status, headers=headers)


def _origin(client_endpoint: str) -> str:
    parts = urlsplit(client_endpoint)
    return f"{parts.scheme}://{parts.netloc}"


@router.post("/b24/install", summary="Bitrix24 install callback (ONAPPINSTALL) or install page")
async def install(request: Request) -> Response:
    """Accept an install in either variant; see the module docstring."""
    services = get_services(request)
    body = await request.body()
    if body.startswith(b"event=") or b"&event=" in body:
        _, event = read_event(body)
        if not isinstance(event, AppInstall):
            raise ApiError(400, "malformed_event", f"expected ONAPPINSTALL, got {event.envelope.name}")
        return await install_answer(services, event)
    language = pick_language(request.query_params.get("LANG"))
    js_url = services.settings.b24_js_url
    try:
        frame = await read_frame(request)
        install_request = request_from_frame(dict(frame.values), utc_now())
    except (FrameRefused, InstallRefused) as refused:
        status = refused.status_code if isinstance(refused, FrameRefused) else refused.status
        # Unverified: only the origin the request claims may frame the error page, so it can be read.
        claimed = claimed_portal_origin(
            request.query_params.get("DOMAIN"), request.query_params.get("PROTOCOL")
        )
        return _install_page(
            language=language, js_url=js_url, portal_origin=claimed, problem=str(refused), status=status
        )
    origin = _origin(install_request.client_endpoint)
    try:
        outcome = await accept_install(services, install_request)
    except InstallRefused as refused:
        return _install_page(
            language=language,
            js_url=js_url,
            portal_origin=origin,
            problem=refused.code,
            status=refused.status,
        )
    if outcome.error is not None:
        return _install_page(
            language=language,
            js_url=js_url,
            portal_origin=origin,
            problem=f"{outcome.error.code}: {outcome.error.description}",
            status=502,
        )
    return _install_page(language=language, js_url=js_url, portal_origin=origin, problem=None, status=200)
