"""Control API for apps, installation, webhooks and OAuth codes."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from b24sandbox import apps
from b24sandbox.control.deps import ControlError, PortalDep
from b24sandbox.oauth import CODE_LIFETIME
from b24sandbox.portal import App, Portal, Webhook

router = APIRouter()


def _check_url(value: str) -> str:
    if value and not value.startswith(("http://", "https://")):
        raise ValueError("must be an http(s) URL")
    return value


def _scope_list(value: list[str] | str | None) -> list[str] | None:
    if isinstance(value, str):
        return [s.strip() for s in value.replace(" ", ",").split(",") if s.strip()]
    return value


class AppIn(BaseModel):
    """A local app to register (contract §6.1); ids are generated when absent."""

    client_id: str | None = Field(default=None, min_length=1, max_length=100)
    client_secret: str | None = Field(default=None, min_length=1, max_length=100)
    name: str = "Sandbox app"
    install_url: str = ""
    handler_url: str = ""
    scope: list[str] | str | None = None
    api_only: bool = True

    _urls = field_validator("install_url", "handler_url")(_check_url)


class AppOut(BaseModel):
    """A registered app."""

    model_config = ConfigDict(from_attributes=True)

    client_id: str
    client_secret: str
    name: str
    install_url: str
    handler_url: str
    scope: list[str]
    api_only: bool
    installed: bool
    install_finished: bool
    application_token: str


class InstallOut(BaseModel):
    """What the install URL answered and the tokens the installation issued."""

    status: int | None
    body: str
    error: str | None
    access_token: str
    refresh_token: str
    expires: int
    expires_in: int
    application_token: str
    member_id: str
    domain: str
    client_endpoint: str
    server_endpoint: str
    user_id: int
    app_sid: str | None


class InstallIn(BaseModel):
    """Who installs (an admin by default)."""

    user_id: int = 1


class UninstallIn(BaseModel):
    """`CLEAN` flag of ONAPPUNINSTALL (contract §6.4)."""

    clean: bool = False


class WebhookIn(BaseModel):
    """An inbound webhook of a user."""

    user_id: int = 1
    scope: list[str] | str | None = None


class CodeIn(BaseModel):
    """An authorization code for the full OAuth flow."""

    client_id: str
    user_id: int = 1


def _out(app: App) -> AppOut:
    return AppOut.model_validate(app)


def _app(portal: Portal, client_id: str) -> App:
    app = portal.apps.get(client_id)
    if app is None:
        raise ControlError(404, "APP_NOT_FOUND", f"No app with client_id {client_id!r}")
    return app


def _user(portal: Portal, user_id: int) -> int:
    if user_id not in portal.users:
        raise ControlError(404, "USER_NOT_FOUND", f"No user {user_id}")
    return user_id


@router.post("/apps", status_code=201)
async def create_app(body: AppIn, portal: PortalDep) -> AppOut:
    """Register a local app."""
    try:
        app = apps.create_app(
            portal,
            name=body.name,
            install_url=body.install_url,
            handler_url=body.handler_url,
            scope=_scope_list(body.scope),
            api_only=body.api_only,
            client_id=body.client_id,
            client_secret=body.client_secret,
        )
    except apps.AppExistsError:
        raise ControlError(409, "APP_EXISTS", f"client_id {body.client_id!r} is taken") from None
    return _out(app)


@router.get("/apps")
async def list_apps(portal: PortalDep) -> list[AppOut]:
    """Every registered app."""
    return [_out(app) for app in portal.apps.values()]


@router.post("/apps/{client_id}/install")
async def install_app(client_id: str, portal: PortalDep, body: InstallIn | None = None) -> InstallOut:
    """Install: variant A posts ONAPPINSTALL, variant B posts the install page (contract §6.2/§6.3)."""
    app = _app(portal, client_id)
    user_id = _user(portal, (body or InstallIn()).user_id)
    result = await apps.install(portal, app, user_id=user_id)
    pair = result.tokens
    return InstallOut(
        status=result.status,
        body=result.body,
        error=result.error,
        access_token=pair.access.token,
        refresh_token=pair.refresh.token,
        expires=int(pair.access.expires),
        expires_in=pair.lifetime,
        application_token=app.application_token,
        member_id=portal.member_id,
        domain=portal.domain,
        client_endpoint=portal.client_endpoint,
        server_endpoint=portal.server_endpoint,
        user_id=user_id,
        app_sid=app.app_sid,
    )


@router.post("/apps/{client_id}/install-finish")
async def install_finish(
    client_id: str, portal: PortalDep, app_sid: Annotated[str | None, Query(alias="APP_SID")] = None
) -> AppOut:
    """BX24.installFinish() (contract §6.3). Client id `_` means "the app installing as APP_SID"."""
    if client_id == "_":
        found = [a for a in portal.apps.values() if app_sid and a.app_sid == app_sid]
        if not found:
            raise ControlError(404, "APP_NOT_FOUND", "No installation with that APP_SID")
        app = found[0]
    else:
        app = _app(portal, client_id)
        if app_sid is not None and app_sid != app.app_sid:
            raise ControlError(403, "WRONG_APP_SID", "APP_SID does not match the installation")
    if not app.installed:
        raise ControlError(409, "NOT_INSTALLED", "The app is not installed")
    apps.finish_install(app)
    return _out(app)


@router.post("/apps/{client_id}/uninstall")
async def uninstall_app(client_id: str, portal: PortalDep, body: UninstallIn | None = None) -> AppOut:
    """Uninstall (contract §6.4)."""
    app = _app(portal, client_id)
    if not app.installed:
        raise ControlError(409, "NOT_INSTALLED", "The app is not installed")
    apps.uninstall(portal, app, clean=(body or UninstallIn()).clean)
    return _out(app)


@router.post("/webhooks", status_code=201)
async def create_webhook(body: WebhookIn, portal: PortalDep) -> dict[str, Any]:
    """An inbound webhook URL `/rest/<user_id>/<code>/` (contract §2.1)."""
    scope = _scope_list(body.scope) or list(apps.DEFAULT_SCOPE)
    hook = Webhook(_user(portal, body.user_id), secrets.token_hex(8), scope)
    portal.webhooks[hook.code] = hook
    return {"user_id": hook.user_id, "code": hook.code, "scope": hook.scope,
            "url": f"{portal.client_endpoint}{hook.user_id}/{hook.code}/"}


@router.post("/oauth/codes", status_code=201)
async def create_code(body: CodeIn, portal: PortalDep) -> dict[str, Any]:
    """An authorization code for `grant_type=authorization_code` (30 s life, contract §5.1)."""
    app = _app(portal, body.client_id)
    code = portal.tokens.new_code(app.client_id, _user(portal, body.user_id))
    return {"code": code, "expires_in": CODE_LIFETIME}
