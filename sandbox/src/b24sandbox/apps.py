"""Local apps: creation, installation (both variants of contract §6.2/§6.3) and uninstallation (§6.4)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from b24sandbox import phpform
from b24sandbox.events import token_auth
from b24sandbox.frames import FramePost, frame_post
from b24sandbox.oauth import TokenPair
from b24sandbox.portal import App

if TYPE_CHECKING:
    from b24sandbox.portal import Portal

DEFAULT_SCOPE = ["imopenlines", "imconnector", "im", "placement"]  # contract §1, §6.1
INSTALL_TIMEOUT = 10.0
LANGUAGE_ID = "en"


class AppExistsError(ValueError):
    """An app with that client_id is already registered."""


def create_app(
    portal: Portal,
    *,
    name: str,
    install_url: str,
    handler_url: str,
    scope: list[str] | None = None,
    api_only: bool = True,
    client_id: str | None = None,
    client_secret: str | None = None,
) -> App:
    """Register a local app; ids are generated like Bitrix24's when not given (contract §6.1)."""
    client_id = client_id or f"local.{secrets.token_hex(7)}.{secrets.randbelow(10**8):08d}"
    if client_id in portal.apps:
        raise AppExistsError(client_id)
    app = App(
        client_id=client_id,
        client_secret=client_secret or secrets.token_urlsafe(36)[:50],
        name=name,
        install_url=install_url,
        handler_url=handler_url,
        scope=list(scope) if scope else list(DEFAULT_SCOPE),
        api_only=api_only,
    )
    portal.apps[client_id] = app
    return app


@dataclass(frozen=True)
class InstallResult:
    """What the install URL answered, and the tokens the installation issued."""

    status: int | None
    body: str
    error: str | None
    tokens: TokenPair


def install_event(portal: Portal, app: App, pair: TokenPair) -> dict[str, Any]:
    """ONAPPINSTALL of contract §6.2: the one event that carries `refresh_token`."""
    return {
        "event": "ONAPPINSTALL",
        "event_handler_id": portal.bus.next_handler_id(),
        "data": {"VERSION": app.version, "ACTIVE": "Y", "INSTALLED": "Y", "LANGUAGE_ID": LANGUAGE_ID},
        "ts": int(portal.clock.now()),
        "auth": {**token_auth(portal, app, pair.access), "refresh_token": pair.refresh.token},
    }


def install_page(portal: Portal, app: App, pair: TokenPair) -> FramePost:
    """The install page POST of contract §6.3 (`PLACEMENT=DEFAULT`, no `PLACEMENT_OPTIONS`)."""
    assert app.app_sid is not None
    return frame_post(
        portal, app, pair, url=app.install_url, placement="DEFAULT", app_sid=app.app_sid, lang=LANGUAGE_ID
    )


def begin_install(portal: Portal, app: App, user_id: int) -> TokenPair:
    """Mark the app installed and issue its tokens; an API-only app is finished at once (§6.2)."""
    app.installed = True
    app.install_finished = app.api_only
    app.application_token = secrets.token_hex(16)
    app.app_sid = secrets.token_hex(16)
    return portal.tokens.issue(app.client_id, user_id)


async def install(portal: Portal, app: App, *, user_id: int = 1) -> InstallResult:
    """Install: POST ONAPPINSTALL (variant A) or the install page form (variant B) to install_url."""
    pair = begin_install(portal, app, user_id)
    if not app.install_url:
        return InstallResult(None, "", None, pair)
    if app.api_only:
        url, body = app.install_url, phpform.encode(install_event(portal, app, pair))
    else:
        page = install_page(portal, app, pair)
        url, body = page.url, phpform.encode(page.form)
    try:
        async with httpx.AsyncClient(timeout=INSTALL_TIMEOUT) as client:
            response = await client.post(
                url, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
            )
    except httpx.HTTPError as exc:
        return InstallResult(None, "", f"{type(exc).__name__}: {exc}", pair)
    return InstallResult(response.status_code, response.text, None, pair)


def finish_install(app: App) -> None:
    """BX24.installFinish(): events and placements start working (contract §6.3)."""
    if app.installed:
        app.install_finished = True


def uninstall(portal: Portal, app: App, *, clean: bool) -> None:
    """Remove connectors (StatusDelete per line), send ONAPPUNINSTALL, drop bindings and tokens (§6.4)."""
    portal.openlines.remove_app(app.client_id)
    for binding in portal.bus.bindings_of(app.client_id):
        if binding.event == "ONAPPUNINSTALL":
            # contract §6.4: no tokens, only LANGUAGE_ID and CLEAN
            portal.bus.send_to(binding, app, {"LANGUAGE_ID": LANGUAGE_ID, "CLEAN": int(clean)}, None)
    portal.bus.forget_app(app.client_id)
    portal.tokens.forget_app(app.client_id)
    app.installed = False
    app.install_finished = False
    app.app_sid = None
