"""General REST methods: `app.info`, `profile`, `server.time`, `methods`, `scope` (contract §5.5)."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any

from b24sandbox.errors import access_denied
from b24sandbox.registry import BASIC_SCOPE, CallContext, all_methods, rest_method


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


@rest_method("app.info", scope=BASIC_SCOPE)
async def app_info(ctx: CallContext) -> dict[str, Any]:
    """The calling app; the same answer on the portal and on the OAuth host (contract §5.5).

    The upper-case keys are the portal's (docs); `client_id`, `scope`, `expires`, `install` and
    `user_id` are what the OAuth server's `app.info` carries and the official SDK validates events
    against (it compares `install.member_id` and `install.domain` with the event's host name).
    """
    app = ctx.app
    if app is None:
        raise access_denied("Access denied! Application context required", 400)
    portal = ctx.portal
    installed = app.installed and app.install_finished  # contract §6.3: false until installFinish
    expires = portal.clock.now() + portal.tokens.lifetime
    return {
        "ID": zlib.crc32(app.client_id.encode()) % 100_000,
        "CODE": app.client_id,
        "VERSION": int(app.version),
        "STATUS": app.status,
        "INSTALLED": installed,
        "PAYMENT_EXPIRED": "N",
        "DAYS": None,
        "LANGUAGE_ID": "en",
        "LICENSE": "en_project",
        "LICENSE_TYPE": "project",
        "LICENSE_FAMILY": "project",
        "client_id": app.client_id,
        "scope": ",".join(app.scope),
        "expires": _iso(expires),
        "user_id": ctx.user_id,
        "install": {
            "installed": installed,
            "version": int(app.version),
            "status": app.status,
            "scope": ",".join(app.scope),
            "domain": portal.domain.split(":", 1)[0],
            "uri": portal.client_endpoint.removesuffix("/rest/"),
            "client_endpoint": portal.client_endpoint,
            "member_id": portal.member_id,
            "member_type": "PORTAL",
        },
    }


@rest_method("profile", scope=BASIC_SCOPE)
async def profile(ctx: CallContext) -> dict[str, Any]:
    """The calling user."""
    user = ctx.portal.users[ctx.user_id]
    return {
        "ID": str(user.user_id),
        "ADMIN": user.is_admin,
        "NAME": user.name,
        "LAST_NAME": user.last_name,
        "PERSONAL_GENDER": "",
        "TIME_ZONE": "",
        "TIME_ZONE_OFFSET": 0,
    }


@rest_method("server.time", scope=BASIC_SCOPE)
async def server_time(ctx: CallContext) -> str:
    """Current portal time, ISO-8601."""
    return _iso(ctx.portal.clock.now())


@rest_method("methods", scope=BASIC_SCOPE)
async def methods(ctx: CallContext) -> list[str]:
    """Method names available to the caller (its scopes plus basic ones)."""
    principal = ctx.principal
    return sorted(
        name for name, method in all_methods().items() if principal is None or principal.allows(method.scope)
    )


@rest_method("scope", scope=BASIC_SCOPE)
async def scope(ctx: CallContext) -> list[str]:
    """Scopes granted to the caller."""
    return sorted(ctx.principal.scope) if ctx.principal else []
