"""The per-portal health check: token, event bindings and line status, repaired where possible.

Bitrix24 drops things silently (pitfall P4: lines go inactive; contract §7.1: bindings vanish when the
app is updated), so each portal is checked periodically (``OLB_HEALTH_CHECK_INTERVAL``) and on demand
(``openline-bridge check``):

1. a portal whose setup never finished gets it run again (``relay.installation.complete_setup``);
2. ``app.info`` proves the stored token works (refreshing it once if expired, contract §5.4);
3. the 8 event bindings are made exactly ours again (``bitrix24.install.ensure_bindings``);
4. every line the admin wants connected is asked for ``imconnector.status``; one Bitrix24 dropped is
   re-activated (``imconnector.activate`` 1 + ``connector.data.set``, via ``relay.lines.connect``).

The result is stored on the portal (``portals.record_check``), shown by ``/readyz`` and the app page;
each problem is also recorded in ``portal_errors``.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from openline_bridge.bitrix24 import methods
from openline_bridge.bitrix24.errors import Bitrix24Error
from openline_bridge.bitrix24.install import ensure_bindings
from openline_bridge.logging import get_logger
from openline_bridge.relay import lines as line_actions
from openline_bridge.relay.installation import complete_setup
from openline_bridge.services import Services
from openline_bridge.store import lines, portal_errors, portals
from openline_bridge.store.lines import LineRecord
from openline_bridge.store.models import InstallState
from openline_bridge.store.portals import PortalRecord
from openline_bridge.store.types import utc_now

__all__ = ["HealthMonitor", "LineHealth", "PortalHealth", "Problem", "check_all", "check_portal"]

_log = get_logger(__name__)


@dataclass(frozen=True)
class Problem:
    """One thing found wrong: where (``token``, ``bindings``, ``line:7``…), Bitrix24's code, the text."""

    area: str
    code: str
    message: str


@dataclass(frozen=True)
class LineHealth:
    """A line the admin wants connected, as Bitrix24 reported it after the check."""

    bitrix_line_id: int
    active: bool
    reactivated: bool


@dataclass(frozen=True)
class PortalHealth:
    """The outcome of one check of one portal."""

    member_id: str
    domain: str
    checked_at: datetime
    setup_completed: bool = False  # the install setup had to be run again
    token_ok: bool = False
    app_installed: bool | None = None  # app.info INSTALLED (false until BX24.installFinish, §6.3)
    bindings_repaired: tuple[str, ...] = ()  # events that were missing and were bound again
    stale_bindings_removed: int = 0
    lines: tuple[LineHealth, ...] = ()
    problems: tuple[Problem, ...] = ()

    @property
    def healthy(self) -> bool:
        """Token works, bindings are complete and every wanted line is active."""
        return self.token_ok and not self.problems and all(line.active for line in self.lines)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (stored on the portal, shown by ``/readyz``)."""
        summary = asdict(self)
        summary["checked_at"] = self.checked_at.isoformat()
        summary["healthy"] = self.healthy
        return summary


async def check_portal(services: Services, portal: PortalRecord) -> PortalHealth:
    """Check (and repair) one portal, store the result, and return it."""
    now = utc_now()
    health = PortalHealth(member_id=portal.member_id, domain=portal.domain, checked_at=now)
    problems: list[Problem] = []
    if portal.install_state is InstallState.INSTALLING:
        outcome = await complete_setup(services, portal)
        if outcome.error is not None:
            problems.append(Problem("setup", outcome.error.code, str(outcome.error)))
        health = replace(health, setup_completed=outcome.ok)
    caller = services.bitrix24.for_portal(portal.member_id)
    try:
        info = await methods.app_info(caller)
    except Bitrix24Error as exc:
        problems.append(Problem("token", exc.code, str(exc)))
        return await _finish(services, portal, replace(health, problems=tuple(problems)))
    health = replace(health, token_ok=True, app_installed=info.installed)
    if not info.installed:
        problems.append(Problem("install", "NOT_FINISHED", "app.info says the installation is not finished"))
    try:
        report = await ensure_bindings(caller, services.settings.public_url)
        health = replace(health, bindings_repaired=report.bound, stale_bindings_removed=len(report.unbound))
    except Bitrix24Error as exc:
        problems.append(Problem("bindings", exc.code, str(exc)))
    line_results: list[LineHealth] = []
    async with services.database.read() as session:
        known = await lines.list_for_portal(session, portal.id)
    for line in known:
        if not line.connect_desired:
            continue  # contract §8.4: asking would create a status row for a line we are not on
        try:
            line_results.append(await _check_line(services, portal, line))
        except Bitrix24Error as exc:
            problems.append(Problem(f"line:{line.bitrix_line_id}", exc.code, str(exc)))
            line_results.append(LineHealth(line.bitrix_line_id, active=False, reactivated=False))
    health = replace(health, lines=tuple(line_results), problems=tuple(problems))
    return await _finish(services, portal, health)


async def _check_line(services: Services, portal: PortalRecord, line: LineRecord) -> LineHealth:
    """Ask for the line's status; re-activate it when Bitrix24 dropped it (pitfall P4)."""
    settings = services.settings
    caller = services.bitrix24.for_portal(portal.member_id)
    now = utc_now()
    target = line_actions.LineTarget(settings.connector_id, line)
    status = await line_actions.check_status(services.database, caller, target, now)
    if status.status:
        return LineHealth(line.bitrix_line_id, active=True, reactivated=False)
    opened = await line_actions.open_line(
        services.database, services.secret_box, portal.id, line.bitrix_line_id, now
    )
    data = line_actions.channel_data(settings.public_url, opened.widget)
    status = await line_actions.connect(
        services.database, caller, line_actions.LineTarget(settings.connector_id, opened.line), data, now
    )
    _log.info("health.line_reactivated", member_id=portal.member_id, line=line.bitrix_line_id)
    return LineHealth(line.bitrix_line_id, active=status.status, reactivated=True)


async def _finish(services: Services, portal: PortalRecord, health: PortalHealth) -> PortalHealth:
    async with services.database.transaction() as session:
        await portals.record_check(session, portal.id, health.as_dict(), health.checked_at)
        for problem in health.problems:
            await portal_errors.record(
                session, portal.id, f"health.{problem.area}", problem.code, problem.message, health.checked_at
            )
    _log.info(
        "health.checked",
        member_id=portal.member_id,
        healthy=health.healthy,
        problems=[problem.code for problem in health.problems],
        lines_reactivated=sum(line.reactivated for line in health.lines),
        bindings_repaired=len(health.bindings_repaired),
    )
    return health


async def check_all(services: Services, *, due_before: datetime | None = None) -> list[PortalHealth]:
    """Check every active portal (only those last checked before ``due_before``, when given)."""
    async with services.database.read() as session:
        active = await portals.list_active(session)
    results = []
    for portal in active:
        if due_before is not None and portal.last_check_at is not None and portal.last_check_at > due_before:
            continue  # another bridge process checked it recently
        results.append(await check_portal(services, portal))
    return results


class HealthMonitor:
    """Runs :func:`check_all` every ``interval`` seconds until cancelled."""

    def __init__(self, services: Services, interval: float) -> None:
        self._services = services
        self._interval = interval

    async def run(self) -> None:
        """Check the portals that are due, sleep, repeat; failures are logged, never fatal."""
        while True:
            # A little slack so that a check finished by another process just now does not repeat.
            due_before = utc_now() - timedelta(seconds=self._interval * 0.9)
            try:
                await check_all(self._services, due_before=due_before)
            except Exception:  # a supervisor loop: one bad round must not stop the task
                _log.exception("health.round_failed")
            await asyncio.sleep(self._interval)
