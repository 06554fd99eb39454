"""Connector registry and line status methods of `imconnector.*` (contract §8.1-§8.6, §8.13)."""

from __future__ import annotations

from typing import Any

from b24sandbox.openlines.model import CONNECTOR_FLAG_DEFAULTS, Connector
from b24sandbox.openlines.params import (
    as_bool_flag,
    as_int,
    as_str,
    php_empty,
    provider_error,
    require,
    require_present,
    upper_keys,
)
from b24sandbox.openlines.state import BUILTIN_CONNECTORS, OpenLines
from b24sandbox.registry import CallContext, rest_method

SCOPE = "imopenlines"  # contract §14 #16: imconnector methods live in the imopenlines REST scope

_REGISTER_TEXTS = {
    "APPLICATION_REGISTRATION_ERROR_POINT": "The connector ID must not contain a point",
    "CONNECTOR_ID_REQUIRED": "The connector ID is required",
    "NAME_REQUIRED": "The connector name is required",
    "ICON_REQUIRED": "The connector icon is required",
    "NO_APPLICATION_ID": "The application could not be identified",
    "NO_PLACEMENT_HANDLER": "The placement handler is required",
}
_UNREGISTER_ERROR = "APPLICATION_UNREGISTRATION_ERROR"


class NestedFailure(dict[str, Any]):
    """A register/unregister failure that stays inside `result` (the `docs` shape of contract §14 #1).

    The transport un-wraps any dict result with `error` + `error_description` (contract §2.3); it
    must leave this type wrapped.
    """


def _failure(openlines: OpenLines, code: str, description: str) -> dict[str, Any]:
    """An HTTP-200 register/unregister failure; its shape follows the §14 #1 variant."""
    body = {"result": False, "error": code, "error_description": description}
    if openlines.variants.register_failure_shape == "docs":
        return NestedFailure(body)
    return body


def _icon(value: Any) -> dict[str, Any]:
    return {str(k).upper(): v for k, v in value.items()} if isinstance(value, dict) else {}


def _register_error(params: dict[str, Any], ctx: CallContext) -> str | None:
    """The first failing check in the source's order (contract §8.1)."""
    connector_id = as_str(params.get("ID"))
    if "." in connector_id:
        return "APPLICATION_REGISTRATION_ERROR_POINT"
    if php_empty(connector_id):
        return "CONNECTOR_ID_REQUIRED"
    if php_empty(params.get("NAME")):
        return "NAME_REQUIRED"
    if php_empty(_icon(params.get("ICON")).get("DATA_IMAGE")):
        return "ICON_REQUIRED"
    if ctx.app is None:
        return "NO_APPLICATION_ID"
    if php_empty(params.get("PLACEMENT_HANDLER")):
        return "NO_PLACEMENT_HANDLER"
    return None


@rest_method("imconnector.register", scope=SCOPE, app_only=True, passthrough_errors=True)
async def register(ctx: CallContext) -> Any:
    """Register or update a connector of the calling app."""
    params = upper_keys(ctx.params)
    openlines = ctx.portal.openlines
    code = _register_error(params, ctx)
    if code is not None or ctx.app is None:
        code = code or "NO_APPLICATION_ID"
        return _failure(openlines, code, _REGISTER_TEXTS[code])
    flags = {
        name: as_bool_flag(params.get(name), default) for name, default in CONNECTOR_FLAG_DEFAULTS.items()
    }
    openlines.save_connector(
        Connector(
            connector_id=as_str(params["ID"]).lower(),  # contract §8.1: stored lower-cased
            client_id=ctx.app.client_id,
            name=as_str(params["NAME"]),
            icon=_icon(params["ICON"]),
            icon_disabled=_icon(params.get("ICON_DISABLED")),
            placement_handler=as_str(params["PLACEMENT_HANDLER"]),
            flags=flags,
            comment=as_str(params.get("COMMENT")),
        )
    )
    return {"result": True}  # contract §8.1: nested `result` object on success


@rest_method("imconnector.unregister", scope=SCOPE, app_only=True, passthrough_errors=True)
async def unregister(ctx: CallContext) -> Any:
    """Delete a connector with its line statuses (contract §8.2)."""
    params = upper_keys(ctx.params)
    openlines = ctx.portal.openlines
    if ctx.app is None:
        return _failure(openlines, "NO_APPLICATION_ID", _REGISTER_TEXTS["NO_APPLICATION_ID"])
    connector_id = as_str(params.get("ID")).lower()
    connector = openlines.find_connector(connector_id)
    owned = connector is not None and connector.client_id == ctx.app.client_id
    if not owned or not openlines.unregister(connector_id, user_id=ctx.user_id):
        return _failure(openlines, _UNREGISTER_ERROR, "Failed to unregister the connector")
    return {"result": True}


@rest_method("imconnector.list", scope=SCOPE, app_only=True)
async def list_connectors(ctx: CallContext) -> Any:
    """`{id: name}` of built-in and custom connectors (contract §8.6)."""
    custom = {c.connector_id: c.name for c in ctx.portal.openlines.connectors.values()}
    return {**BUILTIN_CONNECTORS, **custom}


@rest_method("imconnector.activate", scope=SCOPE, app_only=True)
async def activate(ctx: CallContext) -> Any:
    """Activate (non-empty ACTIVE) or deactivate (PHP-empty ACTIVE) a connector on a line (contract §8.3)."""
    params = upper_keys(ctx.params)
    connector_id = as_str(require(params, "CONNECTOR"))
    line_id = as_int(require(params, "LINE"))
    active = require_present(params, "ACTIVE")
    openlines = ctx.portal.openlines
    # contract §8.3: PHP empty() decides, so "N" activates; no registration or line check.
    if php_empty(active):
        return openlines.delete_status(connector_id, line_id, user_id=ctx.user_id)
    openlines.activate(connector_id, line_id)
    return True


@rest_method("imconnector.status", scope=SCOPE, app_only=True)
async def status(ctx: CallContext) -> Any:
    """The (connector, line) predicates; creates the row when missing (contract §8.4)."""
    params = upper_keys(ctx.params)
    connector_id = as_str(require(params, "CONNECTOR"))
    line_id = as_int(params.get("LINE"))
    row = ctx.portal.openlines.status_row(connector_id, line_id)
    return {
        "LINE": line_id,
        "CONNECTOR": connector_id,
        "ERROR": row.error,
        "CONFIGURED": row.configured,
        "STATUS": row.status,
    }


@rest_method("imconnector.connector.data.set", scope=SCOPE, app_only=True)
async def data_set(ctx: CallContext) -> Any:
    """Store channel data (ID, URL, URL_IM, NAME; keys case-insensitive) on the row (contract §8.5)."""
    params = upper_keys(ctx.params)
    connector_id = as_str(require(params, "CONNECTOR"))
    line_id = as_int(require(params, "LINE"))
    data = require(params, "DATA")
    if not isinstance(data, dict):
        data = {}
    ctx.portal.openlines.set_data(connector_id, line_id, {str(k).lower(): v for k, v in data.items()})
    return True


@rest_method("imconnector.set.error", scope=SCOPE, app_only=True)
async def set_error(ctx: CallContext) -> Any:
    """ERROR=Y on (connector, line) so STATUS turns false (contract §8.13)."""
    params = upper_keys(ctx.params)
    connector_id = as_str(require_present(params, "CONNECTOR"))
    line_id = as_int(require_present(params, "LINE"))
    openlines = ctx.portal.openlines
    if openlines.find_connector(connector_id) is None:
        raise provider_error()
    openlines.status_row(connector_id, line_id).error = True
    return {"SUCCESS": True, "DATA": []}
