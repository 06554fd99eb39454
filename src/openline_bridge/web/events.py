"""``POST /b24/events``: verify a Bitrix24 event, record it in the inbox, answer 200 at once.

Bitrix24 never retries and slows down handlers that answer slowly (contract §7.2, pitfall P7), so the
handler makes no REST call: it parses the form and hands the event to the group-commit intake
(``event_intake``), which answers once the event is durable; the inbox processor and the messaging
engine do the work later. Refusals carry a machine-readable code and nothing is stored for them:

- 413 ``payload_too_large``: body over 1 MiB;
- 400 ``malformed_event``: not a readable form, or a required field missing (contract §7.3, §13);
- 401 ``unknown_portal``: no installed portal with ``auth[member_id]``;
- 401 ``invalid_application_token``: ``auth[application_token]`` differs from the stored one (P8);
- 503 ``unavailable``: the database failed; Bitrix24 will not resend, but the answer is honest.

``ONAPPINSTALL`` here is a re-install and goes through the install path (contract §6.2). The route is
served directly, ahead of the FastAPI application (``web.direct``: Bitrix24 posts every event here).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from openline_bridge.bitrix24.errors import MalformedEvent, MalformedForm
from openline_bridge.bitrix24.events import AppInstall, Event, parse_event
from openline_bridge.bitrix24.formdata import FormDict, parse_form
from openline_bridge.bitrix24.install import EVENTS_PATH
from openline_bridge.errors import BridgeError
from openline_bridge.event_intake import IntakeOutcome
from openline_bridge.relay.installation import InstallRefused, accept_install, request_from_event
from openline_bridge.services import Services, get_services
from openline_bridge.store.types import utc_now
from openline_bridge.web.direct import DirectRequest, DirectRoute
from openline_bridge.web.errors import ApiError, error_response

__all__ = [
    "EVENTS_BODY_LIMIT",
    "EVENTS_ROUTE",
    "VERIFIED_MARKER",
    "install_answer",
    "read_event",
    "storable",
]

EVENTS_BODY_LIMIT = 1024 * 1024

# Credentials never reach the inbox: the event's own token is a user's short-lived one (pitfall P11)
# and the installer's tokens are what the bridge calls with. The application_token was checked on
# arrival; a marker keeps the stored payload readable by ``parse_event``, which requires the field.
_DROPPED_AUTH_KEYS = frozenset({"access_token", "refresh_token"})
VERIFIED_MARKER = "verified-on-arrival"


def read_event(body: bytes) -> tuple[FormDict, Event]:
    """The parsed form and typed event, or 400 ``malformed_event`` naming the problem."""
    try:
        form = parse_form(body, max_bytes=EVENTS_BODY_LIMIT)
        return form, parse_event(form)
    except (MalformedForm, MalformedEvent) as exc:
        raise ApiError(400, "malformed_event", str(exc)) from None


def storable(form: FormDict) -> dict[str, Any]:
    """The form as kept in the inbox: everything but the credentials in ``auth``."""
    kept: dict[str, Any] = dict(form)
    auth = form.get("auth")
    if isinstance(auth, dict):
        kept["auth"] = {key: value for key, value in auth.items() if key not in _DROPPED_AUTH_KEYS}
        kept["auth"]["application_token"] = VERIFIED_MARKER
    return kept


async def install_answer(services: Services, event: AppInstall) -> JSONResponse:
    """Handle ``ONAPPINSTALL`` (variant A) and answer: 200 installed, 502 setup failed, 4xx refused."""
    try:
        outcome = await accept_install(services, request_from_event(event, utc_now()))
    except InstallRefused as refused:
        raise ApiError(refused.status, refused.code, refused.message) from None
    if outcome.error is not None:
        # The portal and tokens are stored; the health check retries the setup.
        raise ApiError(502, "install_setup_failed", f"connector setup failed: {outcome.error.code}")
    return JSONResponse({"result": "installed", "member_id": outcome.portal.member_id})


async def _answer(request: DirectRequest) -> JSONResponse:
    form, event = read_event(request.body)
    services = get_services(request.connection)
    if isinstance(event, AppInstall):
        return await install_answer(services, event)
    try:
        outcome = await services.intake.submit(event, storable(form))
    except BridgeError:
        raise ApiError(503, "unavailable", "the event could not be stored; retry later") from None
    if outcome is IntakeOutcome.UNKNOWN_PORTAL:
        raise ApiError(401, "unknown_portal", "no installed portal has this member_id")
    if outcome is IntakeOutcome.FORGED:
        raise ApiError(401, "invalid_application_token", "application_token does not match")
    return JSONResponse({"result": outcome.value})


async def receive_event(request: DirectRequest) -> Response:
    """Verify and record one Bitrix24 event; the answer does not wait for its processing."""
    try:
        return await _answer(request)
    except ApiError as refused:
        return error_response(refused.status, refused.code, refused.message)


def _too_large() -> Response:
    return error_response(413, "payload_too_large", f"the request body exceeds {EVENTS_BODY_LIMIT} bytes")


_ANSWER = {"content": {"application/json": {"schema": {"type": "object"}}}}

EVENTS_ROUTE = DirectRoute(
    method="POST",
    path=EVENTS_PATH,
    handler=receive_event,
    body_limit=EVENTS_BODY_LIMIT,
    too_large=_too_large,
    operation={
        "summary": "Receive a Bitrix24 event",
        "description": "Bitrix24's event form (contract §7.3); answered once the event is stored.",
        "operationId": "receive_event",
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}},
        },
        "responses": {
            "200": {"description": "recorded, or a duplicate of a recorded event", **_ANSWER},
            "400": {"description": "malformed_event", **_ANSWER},
            "401": {"description": "unknown_portal or invalid_application_token", **_ANSWER},
            "413": {"description": "payload_too_large", **_ANSWER},
            "503": {"description": "unavailable: the event could not be stored", **_ANSWER},
        },
    },
)
