"""Accepting an install (contract §6): prove it is genuine, store the portal, set the connector up.

Both install variants end here: the server-to-server ``ONAPPINSTALL`` (§6.2, also when it reaches
``/b24/events``) and the install page in a frame (§6.3).

Why an install is believed (the decision, also in docs/bitrix24-setup.md):

- A **new** ``member_id`` is accepted once ``app.info``, called with the presented access token at the
  presented ``client_endpoint``, names one of our configured applications. Nothing stronger exists for a
  first contact (an install callback carries no signature); the forged portal could only point the
  bridge at itself, and the first token refresh fails unless Bitrix24 issued the tokens to our
  ``client_id``/``client_secret``.
- A **known** ``member_id`` must present the ``application_token`` stored for it. Bitrix24 issues a new
  one when the app is installed again, so a different token is accepted only if the presented access
  token works for our application at the portal's **stored** ``client_endpoint`` (following one 302 if
  the portal was renamed, pitfall P28). A forger who knows a ``member_id`` cannot redirect the portal's
  traffic or replace its tokens: the check runs against the address we already trust, not the one in
  the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from openline_bridge.bitrix24 import methods
from openline_bridge.bitrix24.errors import Bitrix24Error, DomainMovedError
from openline_bridge.bitrix24.events import AppInstall
from openline_bridge.bitrix24.install import BindingReport, set_up
from openline_bridge.errors import BridgeError
from openline_bridge.logging import get_logger
from openline_bridge.services import Services
from openline_bridge.store import portal_errors, portals
from openline_bridge.store.portals import PortalInstall, PortalRecord
from openline_bridge.store.types import utc_now

__all__ = [
    "InstallRefused",
    "InstallRequest",
    "SetupOutcome",
    "accept_install",
    "complete_setup",
    "request_from_event",
    "request_from_frame",
]

_log = get_logger(__name__)

# contract §5.1: access tokens live one hour when the install does not say otherwise.
_DEFAULT_LIFETIME = timedelta(hours=1)


class InstallRefused(BridgeError):
    """The install cannot be accepted; ``status`` and ``code`` are the HTTP answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True)
class InstallRequest:
    """What an install says, whichever variant carried it."""

    member_id: str
    client_endpoint: str
    server_endpoint: str
    access_token: str
    refresh_token: str
    access_expires_at: datetime
    application_token: str
    scope: str
    user_id: int | None

    def __repr__(self) -> str:
        return f"InstallRequest(member_id={self.member_id!r}, client_endpoint={self.client_endpoint!r})"


def request_from_event(event: AppInstall, now: datetime) -> InstallRequest:
    """Variant A (contract §6.2): the ``ONAPPINSTALL`` auth block, the only event with a refresh token."""
    auth = event.envelope.auth
    if not auth.access_token or not auth.refresh_token:
        raise InstallRefused(400, "malformed_event", "ONAPPINSTALL without access_token and refresh_token")
    client_endpoint = auth.client_endpoint or f"https://{auth.domain}/rest/"
    if auth.expires is not None:
        expires_at = datetime.fromtimestamp(auth.expires, UTC)
    else:
        expires_at = now + (timedelta(seconds=auth.expires_in) if auth.expires_in else _DEFAULT_LIFETIME)
    return InstallRequest(
        member_id=auth.member_id,
        client_endpoint=client_endpoint,
        server_endpoint=auth.server_endpoint or "https://oauth.bitrix.info/rest/",
        access_token=auth.access_token,
        refresh_token=auth.refresh_token,
        access_expires_at=expires_at,
        application_token=auth.application_token,
        scope=",".join(auth.scope),
        user_id=auth.user_id,
    )


def request_from_frame(fields: dict[str, str], now: datetime) -> InstallRequest:
    """Variant B (contract §6.3): the install page's form and query fields."""
    missing = [
        name
        for name in ("AUTH_ID", "REFRESH_ID", "APPLICATION_TOKEN", "member_id", "DOMAIN")
        if not fields.get(name)
    ]
    if missing:
        raise InstallRefused(400, "malformed_install", f"install page fields missing: {', '.join(missing)}")
    domain = fields["DOMAIN"].strip().lower()
    host = urlsplit(f"//{domain}")
    if not host.hostname or host.path or host.query:
        raise InstallRefused(400, "malformed_install", "DOMAIN is not a host name")
    # contract §10: PROTOCOL 1 = https, 0 = http.
    scheme = "http" if fields.get("PROTOCOL") == "0" else "https"
    lifetime = fields.get("AUTH_EXPIRES", "")
    return InstallRequest(
        member_id=fields["member_id"],
        client_endpoint=f"{scheme}://{domain}/rest/",
        server_endpoint=fields.get("SERVER_ENDPOINT") or "https://oauth.bitrix.info/rest/",
        access_token=fields["AUTH_ID"],
        refresh_token=fields["REFRESH_ID"],
        access_expires_at=now
        + (timedelta(seconds=int(lifetime)) if lifetime.isdigit() else _DEFAULT_LIFETIME),
        application_token=fields["APPLICATION_TOKEN"],
        scope=fields.get("APPLICATION_SCOPE", ""),
        user_id=None,
    )


@dataclass(frozen=True)
class SetupOutcome:
    """The stored portal and how its setup went; ``error`` is None when the connector is ready."""

    portal: PortalRecord
    bindings: BindingReport | None
    error: Bitrix24Error | None

    @property
    def ok(self) -> bool:
        """Whether setup finished."""
        return self.error is None


async def _app_info_at(
    services: Services, request: InstallRequest, client_endpoint: str
) -> tuple[methods.AppInfo, str]:
    """``app.info`` with the presented token at ``client_endpoint``, following one rename (P28)."""
    caller = services.bitrix24.for_token(request.member_id, client_endpoint, request.access_token)
    try:
        return await methods.app_info(caller), client_endpoint
    except DomainMovedError as moved:
        caller = services.bitrix24.for_token(request.member_id, moved.client_endpoint, request.access_token)
        return await methods.app_info(caller), moved.client_endpoint


async def _verified(
    services: Services, request: InstallRequest, known: PortalRecord | None, same_token: bool
) -> tuple[str, str]:
    """The ``client_id`` and ``client_endpoint`` to store, or :class:`InstallRefused`."""
    if known is not None and same_token:
        return known.client_id, request.client_endpoint
    trusted_endpoint = known.client_endpoint if known is not None else request.client_endpoint
    try:
        info, endpoint = await _app_info_at(services, request, trusted_endpoint)
    except Bitrix24Error as exc:
        _log.warning("install.refused", member_id=request.member_id, reason="app_info_failed", code=exc.code)
        raise InstallRefused(
            403, "install_not_verified", f"the portal did not confirm the install ({exc.code})"
        ) from None
    configured = [app.client_id for app in services.settings.apps]
    client_id = info.client_id
    if client_id is None and len(configured) == 1:
        client_id = configured[0]
    if client_id not in configured:
        _log.warning("install.refused", member_id=request.member_id, reason="unknown_application")
        raise InstallRefused(403, "unknown_application", "the installed application is not configured here")
    assert client_id is not None
    return client_id, endpoint


async def accept_install(services: Services, request: InstallRequest) -> SetupOutcome:
    """Verify the install, store the portal with its tokens sealed, then run the connector setup."""
    box = services.secret_box
    async with services.database.transaction() as session:
        known = await portals.find(session, request.member_id, include_uninstalled=True)
        same_token = known is not None and await portals.verify_application_token(
            session, box, request.member_id, request.application_token
        )
    client_id, client_endpoint = await _verified(services, request, known, same_token)
    install = PortalInstall(
        member_id=request.member_id,
        domain=urlsplit(client_endpoint).netloc,
        client_endpoint=client_endpoint,
        server_endpoint=request.server_endpoint,
        client_id=client_id,
        access_token=request.access_token,
        refresh_token=request.refresh_token,
        access_expires_at=request.access_expires_at,
        application_token=request.application_token,
        scope=request.scope,
        installed_by_bitrix_user_id=request.user_id,
    )
    async with services.database.transaction() as session:
        portal = await portals.upsert_install(session, box, install, utc_now())
    _log.info(
        "install.accepted",
        member_id=portal.member_id,
        domain=portal.domain,
        reinstall=known is not None,
        new_application_token=known is not None and not same_token,
    )
    return await complete_setup(services, portal)


async def complete_setup(services: Services, portal: PortalRecord) -> SetupOutcome:
    """Register the connector and bind the events; the portal is ``installed`` once both succeeded."""
    settings = services.settings
    caller = services.bitrix24.for_portal(portal.member_id)
    try:
        report = await set_up(caller, settings.connector_id, settings.public_url)
    except Bitrix24Error as exc:
        async with services.database.transaction() as session:
            await portal_errors.record(session, portal.id, "install.setup", exc.code, str(exc), utc_now())
        _log.warning("install.setup_failed", member_id=portal.member_id, code=exc.code)
        return SetupOutcome(portal, None, exc)
    async with services.database.transaction() as session:
        await portals.mark_install_finished(session, portal.member_id, utc_now())
        finished = await portals.get(session, portal.member_id)
    _log.info("install.finished", member_id=portal.member_id, bound=len(report.bound))
    return SetupOutcome(finished, report, None)
