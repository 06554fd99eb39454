"""Control API: open a connector's settings page or an app's main page server-to-server.

`POST /_sandbox/placements/open` sends exactly the `SETTING_CONNECTOR` POST the Contact Center frame
sends (contract §10); `POST /_sandbox/apps/{client_id}/open` the app's main page (`PLACEMENT=DEFAULT`).
Both answer what the handler served plus the request that was sent (tests post their own follow-up
forms with the tokens found there).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from b24sandbox import placements
from b24sandbox.apps import LANGUAGE_ID
from b24sandbox.control.deps import ControlError, PortalDep
from b24sandbox.frames import FramePost

router = APIRouter()


class OpenIn(BaseModel):
    """Who opens the page and in which language."""

    lang: str = Field(default=LANGUAGE_ID, pattern=r"^[a-z]{2}$")
    user_id: int = 1


class PlacementOpenIn(OpenIn):
    """A connector's settings page on one line; `client_id`, when given, must own the connector."""

    connector: str = Field(min_length=1)
    line: int
    client_id: str | None = None


class OpenOut(BaseModel):
    """What the handler served, and the request the portal sent."""

    status: int
    headers: dict[str, str]
    body: str
    request: dict[str, Any]


async def _open(frame: FramePost) -> OpenOut:
    try:
        answer = await placements.send(frame)
    except placements.HandlerUnreachableError as exc:
        raise ControlError(502, "HANDLER_UNREACHABLE", str(exc)) from None
    return OpenOut(
        status=answer.status,
        headers=answer.headers,
        body=answer.body,
        request={"url": frame.url, "query": frame.query, "form": frame.form},
    )


def _refused(exc: placements.PlacementError) -> ControlError:
    if isinstance(exc, placements.PlacementHiddenError):
        return ControlError(409, "PLACEMENT_HIDDEN", str(exc))
    return ControlError(404, "NOT_FOUND", str(exc))


@router.post("/placements/open")
async def open_placement(body: PlacementOpenIn, portal: PortalDep) -> OpenOut:
    """POST the `SETTING_CONNECTOR` page of (connector, line) like the Contact Center (contract §10)."""
    owner = portal.openlines.owner_of(body.connector)
    if body.client_id is not None and owner is not None and owner != body.client_id:
        raise ControlError(404, "NOT_FOUND", f"connector {body.connector!r} belongs to another app")
    try:
        frame = placements.setting_connector(
            portal, body.connector, body.line, user_id=body.user_id, lang=body.lang
        )
    except placements.PlacementError as exc:
        raise _refused(exc) from None
    return await _open(frame)


@router.post("/apps/{client_id}/open")
async def open_app(client_id: str, portal: PortalDep, body: OpenIn | None = None) -> OpenOut:
    """POST the app's main page (handler URL) with `PLACEMENT=DEFAULT` (contract §6.3)."""
    app = portal.apps.get(client_id)
    if app is None:
        raise ControlError(404, "APP_NOT_FOUND", f"No app with client_id {client_id!r}")
    options = body or OpenIn()
    try:
        frame = placements.main_page(portal, app, user_id=options.user_id, lang=options.lang)
    except placements.PlacementError as exc:
        raise _refused(exc) from None
    return await _open(frame)
