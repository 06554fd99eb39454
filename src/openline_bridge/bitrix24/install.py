"""Setting a portal up for the connector: ``imconnector.register`` and idempotent event bindings.

Run on every install and re-install (contract §6, §7.1: an app's bindings may be dropped when it is
updated, so every installer binds again) and by the health check to repair missing bindings. A second
run changes nothing: the registration is an update (§8.1) and bindings go through
``event.get`` → unbind stale handlers of ours → bind what is missing (pitfalls P6, P9).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from openline_bridge.bitrix24 import methods
from openline_bridge.bitrix24.client import RestCaller
from openline_bridge.bitrix24.errors import PermanentError
from openline_bridge.bitrix24.methods import ConnectorRegistration, EventBinding
from openline_bridge.logging import get_logger

__all__ = [
    "CONNECTOR_NAME",
    "EVENTS",
    "EVENTS_PATH",
    "SETTINGS_PATH",
    "BindingReport",
    "connector_registration",
    "ensure_bindings",
    "events_url",
    "set_up",
]

_log = get_logger(__name__)

EVENTS_PATH = "/b24/events"
SETTINGS_PATH = "/b24/settings"
CONNECTOR_NAME = "Website chat (openline-bridge)"

# The events the bridge handles, as event.bind takes them; event.get answers them upper-case (§7.1).
EVENTS: tuple[str, ...] = (
    "OnImConnectorMessageAdd",
    "OnImConnectorMessageUpdate",
    "OnImConnectorMessageDelete",
    "OnImConnectorStatusDelete",
    "OnImConnectorLineDelete",
    "OnImConnectorDialogStart",
    "OnImConnectorDialogFinish",
    "OnAppUninstall",
)

# A speech bubble; contract §8.1: ICON.DATA_IMAGE is an SVG data URI used as a CSS background.
_ICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
    '<path fill="#ffffff" d="M12 14h40a6 6 0 0 1 6 6v20a6 6 0 0 1-6 6H28l-10 8v-8h-6a6 6 0 0 1-6-6V20'
    'a6 6 0 0 1 6-6z"/><circle cx="22" cy="30" r="3" fill="#2fc6f6"/><circle cx="32" cy="30" r="3" '
    'fill="#2fc6f6"/><circle cx="42" cy="30" r="3" fill="#2fc6f6"/></svg>'
)
ICON_DATA_IMAGE = "data:image/svg+xml," + quote(_ICON_SVG, safe="")
ICON_COLOR = "#2fc6f6"
ICON_DISABLED_COLOR = "#ebeff2"  # contract §8.1: Bitrix24's own default for the inactive tile


@dataclass(frozen=True)
class BindingReport:
    """What :func:`ensure_bindings` found and changed (event names upper-case)."""

    bound: tuple[str, ...]  # were missing, now bound
    present: tuple[str, ...]  # already bound to our handler
    unbound: tuple[tuple[str, str], ...]  # stale (event, handler URL) pairs of ours, removed
    foreign: tuple[tuple[str, str], ...]  # handlers elsewhere (not our host, not our path): left alone

    @property
    def changed(self) -> bool:
        """Whether anything had to be repaired."""
        return bool(self.bound or self.unbound)


def events_url(public_url: str) -> str:
    """The one handler URL every binding must use."""
    return public_url.rstrip("/") + EVENTS_PATH


def connector_registration(connector_id: str, public_url: str) -> ConnectorRegistration:
    """``imconnector.register`` parameters: the tile, its icons and the settings page (contract §8.1, §10)."""
    return ConnectorRegistration(
        connector_id=connector_id,
        name=CONNECTOR_NAME,
        icon_data_image=ICON_DATA_IMAGE,
        icon_color=ICON_COLOR,
        icon_size="90%",
        icon_position="center",
        icon_disabled_data_image=ICON_DATA_IMAGE,
        icon_disabled_color=ICON_DISABLED_COLOR,
        placement_handler=public_url.rstrip("/") + SETTINGS_PATH,
    )


async def set_up(caller: RestCaller, connector_id: str, public_url: str) -> BindingReport:
    """Register (or update) the connector, then make the event bindings exactly ours."""
    await methods.register(caller, connector_registration(connector_id, public_url))
    return await ensure_bindings(caller, public_url)


def _is_ours(handler: str, wanted: str) -> bool:
    """A handler URL this bridge once used: our host (any path or slash variant) or our events path.

    ``event.get`` lists only this app's bindings (contract §7.1), so these are old URLs of this
    deployment (pitfall P9: another URL form means a second copy of every event).
    """
    ours, theirs = urlsplit(wanted), urlsplit(handler)
    same_host = (theirs.hostname or "").lower() == (ours.hostname or "").lower() and theirs.port == ours.port
    return same_host or theirs.path.rstrip("/") == EVENTS_PATH


def _already_bound(error: PermanentError) -> bool:
    # contract §7.1/§16.11: a duplicate bind fails as ERROR_CORE "Handler already binded" or
    # "Unable to set event handler"; either way the binding exists.
    text = f"{error.code} {error.description}".lower()
    return "already" in text or "unable to set event handler" in text


async def ensure_bindings(caller: RestCaller, public_url: str) -> BindingReport:
    """``event.get`` → unbind stale handlers of ours → bind the missing ones (contract §7.1)."""
    wanted = events_url(public_url)
    existing: Sequence[EventBinding] = await methods.event_get(caller)
    present: set[str] = set()
    stale: list[tuple[str, str]] = []
    foreign: list[tuple[str, str]] = []
    names = {name.upper() for name in EVENTS}
    for binding in existing:
        if binding.event not in names or binding.offline:
            continue
        if binding.handler == wanted:
            present.add(binding.event)
        elif _is_ours(binding.handler, wanted):
            stale.append((binding.event, binding.handler))
        else:
            foreign.append((binding.event, binding.handler))
    for event, handler in stale:
        await methods.event_unbind(caller, event, handler)
    bound: list[str] = []
    for event in EVENTS:
        if event.upper() in present:
            continue
        try:
            await methods.event_bind(caller, event, wanted)
        except PermanentError as exc:
            if not _already_bound(exc):
                raise
        bound.append(event.upper())
    report = BindingReport(
        bound=tuple(bound),
        present=tuple(sorted(present)),
        unbound=tuple(stale),
        foreign=tuple(foreign),
    )
    if report.changed or report.foreign:
        _log.info(
            "bitrix24.bindings_repaired",
            bound=list(report.bound),
            unbound=[event for event, _ in report.unbound],
            foreign=len(report.foreign),
        )
    return report
