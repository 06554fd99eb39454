"""REST methods of the event infrastructure: `event.bind`, `event.unbind`, `event.get`, `events`,
`event.test` (contract §7.1). Application context only."""

from __future__ import annotations

from typing import Any

from b24sandbox.errors import RestError, access_denied, argument_null
from b24sandbox.events import KNOWN_EVENTS
from b24sandbox.portal import App
from b24sandbox.registry import BASIC_SCOPE, CallContext, rest_method


def _app(ctx: CallContext) -> App:
    # `app_only` guarantees an app; this narrows the type for the checker.
    assert ctx.app is not None
    return ctx.app


def _required(ctx: CallContext, name: str) -> str:
    value = ctx.params.get(name)
    if not isinstance(value, str | int) or value == "":
        raise argument_null(name)
    return str(value)


def _is_admin(ctx: CallContext) -> bool:
    user = ctx.portal.users.get(ctx.user_id)
    return user is not None and user.is_admin


def _auth_type(ctx: CallContext, *, default: int | None) -> int | None:
    raw = ctx.params.get("auth_type")
    if raw in (None, ""):
        return default
    try:
        user_id = int(raw)
    except (TypeError, ValueError):
        message = "Argument 'auth_type' must be a user id"
        raise RestError("ERROR_ARGUMENT", message, 400, "auth_type") from None
    # contract §7.1: another user's token requires admin rights
    if user_id not in (0, ctx.user_id) and not _is_admin(ctx):
        raise access_denied("Access denied")
    return user_id


@rest_method("event.bind", scope=BASIC_SCOPE, app_only=True)
async def event_bind(ctx: CallContext) -> bool:
    """Bind a handler URL to an event (contract §7.1)."""
    event = _required(ctx, "event")
    offline = str(ctx.params.get("event_type", "online")).lower() == "offline"
    if offline and not _is_admin(ctx):
        raise access_denied("Access denied")  # contract §7.1: offline events need admin rights
    handler = "" if offline else _required(ctx, "handler")
    auth_type = _auth_type(ctx, default=0) or 0
    ctx.portal.bus.bind(_app(ctx).client_id, event, handler, auth_type=auth_type, offline=offline)
    return True


@rest_method("event.unbind", scope=BASIC_SCOPE, app_only=True)
async def event_unbind(ctx: CallContext) -> dict[str, int]:
    """Remove the app's handlers of an event; `{"count": n}` (contract §7.1)."""
    event = _required(ctx, "event")
    handler = str(ctx.params.get("handler", ""))
    removed = ctx.portal.bus.unbind(_app(ctx).client_id, event, handler, _auth_type(ctx, default=None))
    return {"count": removed}


@rest_method("event.get", scope=BASIC_SCOPE, app_only=True)
async def event_get(ctx: CallContext) -> list[dict[str, Any]]:
    """The app's bindings; `auth_type` is a string and `offline` an int (contract §7.1)."""
    return [
        {"event": b.event, "handler": b.handler, "auth_type": str(b.auth_type), "offline": int(b.offline)}
        for b in ctx.portal.bus.bindings_of(_app(ctx).client_id)
    ]


@rest_method("events", scope=BASIC_SCOPE)
async def events(ctx: CallContext) -> list[str]:
    """Event names the portal knows (contract §7.1)."""
    return list(KNOWN_EVENTS)


@rest_method("event.test", scope=BASIC_SCOPE, app_only=True)
async def event_test(ctx: CallContext) -> bool:
    """Fire ONAPPTEST to the app's handlers with the call params as `data.QUERY` (contract §7.1)."""
    data = {"QUERY": ctx.params, "LANGUAGE_ID": "en"}
    ctx.portal.events.fire("ONAPPTEST", data, owner_client_id=_app(ctx).client_id, user_id=ctx.user_id)
    return True
