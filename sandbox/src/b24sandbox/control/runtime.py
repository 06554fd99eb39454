"""Control API for the portal's run-time knobs and logs: clock, limits, faults, tokens, calls,
event deliveries and bindings, state save/restore, reset."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from b24sandbox.control.deps import ControlError, PortalDep, SandboxDep
from b24sandbox.portal import Portal
from b24sandbox.snapshot import dump_state, load_state

router = APIRouter()


class ClockIn(BaseModel):
    """Advance the sandbox clock (never backwards)."""

    seconds: float = Field(ge=0)


class LimitsIn(BaseModel):
    """Limits to change; absent fields stay as they are (`operating_limit: null` turns it off)."""

    rate: str | None = None
    operating_limit: float | None = Field(default=None, ge=0)
    token_lifetime: int | None = Field(default=None, ge=1)


class _RuleIn(BaseModel):
    method: str = Field(min_length=1)
    when: Literal["before", "after"] = "before"
    count: int | None = Field(default=None, ge=0)
    fraction: float | None = Field(default=None, ge=0, le=1)


class ErrorRuleIn(_RuleIn):
    """Answer the matching calls with this error (`method` "*" matches every method)."""

    status: int = Field(ge=400, le=599)
    error: str = Field(min_length=1)
    error_description: str = ""


class HoldRuleIn(_RuleIn):
    """Hold the matching calls this many seconds."""

    seconds: float = Field(gt=0, le=120)


class EventFaultsIn(BaseModel):
    """Faults of event delivery."""

    drop_next: int = Field(default=0, ge=0)
    drop_fraction: float = Field(default=0.0, ge=0, le=1)
    duplicate_next: int = Field(default=0, ge=0)
    duplicate_fraction: float = Field(default=0.0, ge=0, le=1)
    extra_delay: float = Field(default=0.0, ge=0, le=120)


class FaultsIn(BaseModel):
    """Faults to change; absent fields stay as they are."""

    errors: list[ErrorRuleIn] | None = None
    holds: list[HoldRuleIn] | None = None
    latency: float | None = Field(default=None, ge=0, le=60)
    events: EventFaultsIn | None = None
    # contract §2.1: rename the portal; REST calls on the old host then get 302
    domain: str | None = Field(default=None, min_length=1, pattern=r"^[A-Za-z0-9.\-]+(:\d{1,5})?$")
    # contract §14: H2's switchable variants of the Open Channels side
    variants: dict[str, Any] | None = None


class EventConfigIn(BaseModel):
    """Delivery settings of the event queue."""

    delay: float | None = Field(default=None, ge=0, le=120)
    # Seconds a handler may take to answer before the delivery is recorded as failed.
    timeout: float | None = Field(default=None, gt=0, le=120)


class PathIn(BaseModel):
    """A state file path."""

    path: str = Field(min_length=1)


def _limits(portal: Portal) -> dict[str, Any]:
    return {**portal.limits.as_dict(), "token_lifetime": portal.tokens.lifetime}


def _faults(portal: Portal) -> dict[str, Any]:
    return {
        **portal.faults.as_dict(),
        "domain": portal.domain,
        "old_domains": sorted(portal.old_domains),
        "variants": portal.openlines.variants.as_dict(),
    }


@router.post("/clock")
async def advance_clock(body: ClockIn, portal: PortalDep) -> dict[str, float]:
    """Move the clock forward; token expiry and rate buckets follow it."""
    return {"now": portal.clock.advance(body.seconds)}


@router.get("/limits")
async def get_limits(portal: PortalDep) -> dict[str, Any]:
    """Current limits."""
    return _limits(portal)


@router.put("/limits")
async def put_limits(body: LimitsIn, portal: PortalDep) -> dict[str, Any]:
    """Switch limits at run time (rate presets off, 50/2, 250/5 or `<burst>/<drain>`)."""
    given = body.model_fields_set
    if body.rate is not None:
        try:
            portal.limits.set_rate(body.rate)
        except ValueError as exc:
            raise ControlError(422, "INVALID_RATE", str(exc)) from None
    if "operating_limit" in given:
        portal.limits.set_operating_limit(body.operating_limit)
    if body.token_lifetime is not None:
        portal.tokens.lifetime = body.token_lifetime
    return _limits(portal)


@router.get("/faults")
async def get_faults(portal: PortalDep) -> dict[str, Any]:
    """Current faults, portal domain and Open Channels variants."""
    return _faults(portal)


@router.put("/faults")
async def put_faults(body: FaultsIn, portal: PortalDep) -> dict[str, Any]:
    """Change faults; variants are validated before anything else changes."""
    if body.variants is not None:
        try:
            portal.openlines.variants.update(body.variants)
        except ValueError as exc:
            raise ControlError(422, "INVALID_VARIANT", str(exc)) from None
    portal.faults.update(body.model_dump(include={"errors", "holds", "latency", "events"}, exclude_none=True))
    if body.domain is not None:
        portal.change_domain(body.domain)
    return _faults(portal)


@router.post("/tokens/expire")
async def expire_tokens(portal: PortalDep) -> dict[str, int]:
    """Expire every access token now (refresh tokens keep working)."""
    return {"expired": portal.tokens.expire_all()}


@router.get("/calls")
async def calls(
    portal: PortalDep, method: str | None = None, since: int = 0, limit: int = 1000
) -> dict[str, Any]:
    """REST calls received (bounded log), oldest first; page with `since` = last id seen."""
    return {"calls": portal.calls.query(method=method, since=since, limit=max(1, min(limit, 10_000)))}


@router.get("/events/deliveries")
async def deliveries(portal: PortalDep, event: str | None = None, since: int = 0) -> dict[str, Any]:
    """Every event delivery attempt (no retries: one record per attempt)."""
    return {"deliveries": portal.bus.delivery_log(event=event, since=since)}


@router.get("/events/bindings")
async def bindings(portal: PortalDep) -> dict[str, Any]:
    """Every event binding of every app."""
    return {"bindings": [asdict(b) for b in portal.bus.bindings.values()]}


@router.put("/events/config")
async def event_config(body: EventConfigIn, portal: PortalDep) -> dict[str, float]:
    """Set the delivery delay and handler timeout of the event queue."""
    if body.delay is not None:
        portal.bus.delay = body.delay
    if body.timeout is not None:
        portal.bus.timeout = body.timeout
    return {"delay": portal.bus.delay, "timeout": portal.bus.timeout}


@router.post("/events/drain")
async def drain_events(
    portal: PortalDep, seconds: Annotated[float, Query(alias="timeout", ge=0, le=60)] = 10.0
) -> dict[str, bool]:
    """Wait (at most `timeout` s) until every queued event was attempted."""
    return {"drained": await portal.bus.drain(seconds)}


@router.post("/state/save")
async def save_state(body: PathIn, portal: PortalDep) -> dict[str, str]:
    """Write the in-memory state to a JSON file."""
    try:
        await asyncio.to_thread(Path(body.path).write_text, json.dumps(dump_state(portal)), encoding="utf-8")
    except OSError as exc:
        raise ControlError(400, "STATE_NOT_SAVED", str(exc)) from None
    return {"path": body.path}


@router.post("/state/restore")
async def restore_state(body: PathIn, sandbox: SandboxDep) -> dict[str, str]:
    """Replace the portal with the one saved in a JSON file."""
    try:
        text = await asyncio.to_thread(Path(body.path).read_text, encoding="utf-8")
        portal = load_state(json.loads(text))
    except (OSError, ValueError) as exc:
        raise ControlError(400, "STATE_NOT_RESTORED", str(exc)) from None
    portal.bus.delay = sandbox.portal.bus.delay
    await sandbox.replace_portal(portal)
    return {"path": body.path}


@router.post("/reset")
async def reset(sandbox: SandboxDep) -> dict[str, str]:
    """Forget everything: a fresh portal."""
    await sandbox.reset()
    return {"member_id": sandbox.portal.member_id}
