"""Running one REST method for one caller: the checks every call and every batch sub-call passes.

Order: method lookup (404), batch nesting (405), scope (403), auth type (403), operating-time limit
(429), forced faults "before", the handler, operating-time accounting, forced faults "after".
The request-rate bucket is the transport's job because a batch counts once (contract §3).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from b24sandbox.errors import (
    RestError,
    insufficient_scope,
    invalid_token,
    method_not_found,
    no_auth_found,
    operation_time_limit,
    wrong_auth_type,
)
from b24sandbox.registry import CallContext, Principal, RestMethod, find_method

if TYPE_CHECKING:
    from b24sandbox.faults import When
    from b24sandbox.portal import Portal

BATCH = "batch"


def authenticate(portal: Portal, auth: Any, webhook: tuple[str, str] | None) -> Principal:
    """The caller of a request, or the 401 of contract §5.4."""
    if webhook is not None:
        user_id, code = webhook
        hook = portal.webhooks.get(code)
        if hook is None or str(hook.user_id) != user_id:
            raise no_auth_found()
        return Principal("webhook", hook.user_id, None, frozenset(hook.scope), f"webhook:{hook.user_id}")
    if not isinstance(auth, str) or not auth:
        raise no_auth_found()
    token = portal.tokens.resolve(auth)
    app = portal.apps.get(token.client_id)
    if app is None or not app.installed:
        raise invalid_token()
    return Principal("oauth", token.user_id, app, frozenset(app.scope), app.client_id)


@dataclass(frozen=True)
class Outcome:
    """A method's result and the time it spent inside the handler."""

    method: RestMethod
    result: Any
    processing: float


async def _faults(portal: Portal, name: str, when: When) -> None:
    faults = portal.faults
    hold = faults.take_hold(name, when) + (faults.latency if when == "before" else 0.0)
    if hold > 0:
        await asyncio.sleep(hold)
    error = faults.take_error(name, when)
    if error is not None:
        raise error


async def run_method(
    portal: Portal, name: str, params: dict[str, Any], principal: Principal, *, in_batch: bool = False
) -> Outcome:
    """Check and run one method; raises RestError for every refusal."""
    method = find_method(name)
    if method is None:
        raise method_not_found()
    if in_batch and method.name == BATCH:
        # contract §3: nested batch is refused since rest 24.0.0
        raise RestError("ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage", 405)
    if not principal.allows(method.scope):
        raise insufficient_scope()
    if method.app_only and principal.kind != "oauth":
        raise wrong_auth_type()  # contract §2.1: imconnector.* refuse webhooks
    # contract §3, §4: the outer batch is not counted in `operating`; each sub-call counts for its method
    limiter = portal.limits.operating if method.name != BATCH else None
    if limiter is not None and limiter.blocked(principal.caller, method.name, portal.clock.now()):
        raise operation_time_limit()
    if portal.faults.active:
        await _faults(portal, method.name, "before")
    ctx = CallContext(portal, params, principal.kind, principal.user_id, principal.app, in_batch, principal)
    started = time.perf_counter()
    result = await method.handler(ctx)
    processing = time.perf_counter() - started
    if limiter is not None:
        limiter.add(principal.caller, method.name, processing, portal.clock.now())
    if portal.faults.active:
        await _faults(portal, method.name, "after")
    return Outcome(method, result, processing)


def _iso(moment: float) -> str:
    # contract §2.2: PHP date('c')
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


def time_block(
    portal: Portal, start: float, finish: float, processing: float, caller: str | None, method: str | None
) -> dict[str, Any]:
    """The `time` object of contract §2.2 (with `operating*` only while that limiter is on)."""
    block: dict[str, Any] = {
        "start": start,
        "finish": finish,
        "duration": finish - start,
        "processing": processing,
        "date_start": _iso(start),
        "date_finish": _iso(finish),
    }
    limiter = portal.limits.operating
    if limiter is not None and caller is not None and method is not None:
        state = limiter.state(caller, method, finish)
        block["operating_reset_at"] = state.reset_at
        block["operating"] = state.operating
    return block
