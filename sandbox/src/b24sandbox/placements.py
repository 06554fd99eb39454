"""Opening app pages the way the portal does: a connector's `SETTING_CONNECTOR` page (contract §10) and
an app's main page (`PLACEMENT=DEFAULT`, contract §6.3), both gated on a finished installation.

The browser pages render the returned `FramePost` as a hidden form aimed at a frame; the control API
sends it server-to-server with `send`.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import httpx

from b24sandbox import phpform
from b24sandbox.apps import LANGUAGE_ID
from b24sandbox.frames import FramePost, frame_post

if TYPE_CHECKING:
    from b24sandbox.openlines.model import StatusRow
    from b24sandbox.portal import App, Portal

# The Contact Center page that hosts a connector's settings frame; contract §10 `URI` points at it.
CONNECTOR_PAGE = "/contact_center/connector/"
SEND_TIMEOUT = 10.0


class PlacementError(Exception):
    """A page cannot be opened."""


class PlacementNotFoundError(PlacementError):
    """No such connector, line, app or user."""


class PlacementHiddenError(PlacementError):
    """The app is not installed or its installation is not finished (contract §6.3)."""


class HandlerUnreachableError(PlacementError):
    """The handler URL did not answer."""


@dataclass(frozen=True)
class HandlerAnswer:
    """What a handler served for a server-to-server frame POST."""

    status: int
    headers: dict[str, str]
    body: str


def connector_uri(connector_id: str) -> str:
    """The universal `URI` option: the Contact Center slider of the connector (contract §10 example)."""
    return CONNECTOR_PAGE + "?" + urlencode({"ID": connector_id, "IFRAME": "Y", "IFRAME_TYPE": "SIDE_SLIDER"})


def setting_connector_options(connector_id: str, line_id: int, row: StatusRow | None) -> str:
    """`PLACEMENT_OPTIONS` of contract §10: `LINE` a string, the §8.14 flags as booleans (false if no row)."""
    options = {
        "CONNECTOR": connector_id,
        "LINE": str(line_id),
        "STATUS": row is not None and row.status,
        "ACTIVE_STATUS": row is not None and row.active,
        "CONNECTION_STATUS": row is not None and row.connection,
        "REGISTER_STATUS": row is not None and row.register,
        "ERROR_STATUS": row is not None and row.error,
        "URI": connector_uri(connector_id),
    }
    # contract §10 example: PHP's json_encode writes "/" as "\/".
    return json.dumps(options, separators=(",", ":")).replace("/", "\\/")


def check_openable(app: App) -> None:
    """Placements and the app page stay hidden until installation has finished (contract §6.3)."""
    if not app.installed:
        raise PlacementHiddenError(f"the app {app.client_id} is not installed")
    if not app.install_finished:
        raise PlacementHiddenError(f"the installation of {app.client_id} is not finished")


def _check_user(portal: Portal, user_id: int) -> None:
    if user_id not in portal.users:
        raise PlacementNotFoundError(f"no user {user_id}")


def setting_connector(
    portal: Portal, connector_id: str, line_id: int, *, user_id: int = 1, lang: str = LANGUAGE_ID
) -> FramePost:
    """The `SETTING_CONNECTOR` POST to the connector's `PLACEMENT_HANDLER` with fresh tokens of `user_id`."""
    openlines = portal.openlines
    connector = openlines.find_connector(connector_id)
    if connector is None:
        raise PlacementNotFoundError(f"no connector {connector_id!r}")
    if line_id not in openlines.lines:
        raise PlacementNotFoundError(f"no line {line_id}")
    app = portal.apps.get(connector.client_id)
    if app is None:
        raise PlacementNotFoundError(f"the app of connector {connector_id!r} is gone")
    check_openable(app)
    _check_user(portal, user_id)
    options = setting_connector_options(connector_id, line_id, openlines.find_status(connector_id, line_id))
    pair = portal.tokens.issue(app.client_id, user_id)
    return frame_post(
        portal,
        app,
        pair,
        url=connector.placement_handler,
        placement="SETTING_CONNECTOR",
        app_sid=secrets.token_hex(16),
        lang=lang,
        options=options,
    )


def main_page(portal: Portal, app: App, *, user_id: int = 1, lang: str = LANGUAGE_ID) -> FramePost:
    """The app's main page (handler URL) with `PLACEMENT=DEFAULT` and fresh tokens of `user_id`."""
    check_openable(app)
    _check_user(portal, user_id)
    if not app.handler_url:
        raise PlacementNotFoundError(f"the app {app.client_id} has no handler URL")
    pair = portal.tokens.issue(app.client_id, user_id)
    return frame_post(
        portal, app, pair, url=app.handler_url, placement="DEFAULT", app_sid=secrets.token_hex(16), lang=lang
    )


async def send(frame: FramePost) -> HandlerAnswer:
    """POST the frame's form to its URL server-to-server, as the browser's hidden form would."""
    try:
        async with httpx.AsyncClient(timeout=SEND_TIMEOUT) as client:
            response = await client.post(
                frame.url,
                content=phpform.encode(frame.form),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
    except httpx.HTTPError as exc:
        raise HandlerUnreachableError(f"{type(exc).__name__}: {exc}") from None
    return HandlerAnswer(response.status_code, dict(response.headers), response.text)
