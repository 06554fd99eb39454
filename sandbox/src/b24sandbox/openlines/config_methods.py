"""`imopenlines.config.add/get/list.get/update/delete`: the lines themselves.

Shapes follow the public docs: `ID` as a string, `ACTIVE` "Y"/"N", `LINE_NAME`. The SDK's connector
tests find an active line with `config.list.get` (contract §11: LINE comes from there or the placement).
"""

from __future__ import annotations

from typing import Any

from b24sandbox.errors import RestError
from b24sandbox.openlines.model import Line
from b24sandbox.openlines.params import as_bool_flag, as_int, as_str, upper_keys
from b24sandbox.openlines.state import OpenLines, UnknownLineError
from b24sandbox.registry import CallContext, rest_method

SCOPE = "imopenlines"


def line_config(line: Line) -> dict[str, Any]:
    """A line as the config methods present it."""
    return {
        "ID": str(line.line_id),
        "ACTIVE": "Y" if line.active else "N",
        "LINE_NAME": line.name,
        "CHECK_AVAILABLE": "N",
        "SHOW_OPERATOR_NAME": "Y" if line.show_operator_name else "N",
        "SESSION_CLOSE_TERM": line.close_term,
    }


def _params(ctx: CallContext) -> dict[str, Any]:
    value = upper_keys(ctx.params).get("PARAMS")
    return upper_keys(value) if isinstance(value, dict) else {}


def _apply(line: Line, params: dict[str, Any]) -> None:
    if "LINE_NAME" in params:
        line.name = as_str(params["LINE_NAME"])
    if "ACTIVE" in params:
        line.active = as_bool_flag(params["ACTIVE"], line.active)
    if "SHOW_OPERATOR_NAME" in params:
        line.show_operator_name = as_bool_flag(params["SHOW_OPERATOR_NAME"], line.show_operator_name)
    if "SESSION_CLOSE_TERM" in params:
        line.close_term = as_int(params["SESSION_CLOSE_TERM"])


def _line(ctx: CallContext) -> Line:
    openlines: OpenLines = ctx.portal.openlines
    try:
        return openlines.get_line(as_int(upper_keys(ctx.params).get("CONFIG_ID")))
    except UnknownLineError:
        raise RestError("CONFIG_NOT_FOUND", "Open line not found", 400) from None


@rest_method("imopenlines.config.add", scope=SCOPE, app_only=True)
async def config_add(ctx: CallContext) -> Any:
    """Create a line; returns its id (int)."""
    params = _params(ctx)
    line = ctx.portal.openlines.add_line(as_str(params.get("LINE_NAME")) or "Open Channel")
    _apply(line, params)
    return line.line_id


@rest_method("imopenlines.config.get", scope=SCOPE, app_only=True)
async def config_get(ctx: CallContext) -> Any:
    """One line by `CONFIG_ID`."""
    return line_config(_line(ctx))


@rest_method("imopenlines.config.list.get", scope=SCOPE, app_only=True)
async def config_list_get(ctx: CallContext) -> Any:
    """Every line, optionally filtered by `PARAMS.filter` on `ACTIVE`/`ID`."""
    raw = upper_keys(ctx.params).get("PARAMS")
    wanted = upper_keys(raw.get("filter") or raw.get("FILTER") or {}) if isinstance(raw, dict) else {}
    out = []
    for line in ctx.portal.openlines.lines.values():
        row = line_config(line)
        if all(str(row.get(k)) == str(v) for k, v in wanted.items() if k in row):
            out.append(row)
    return out


@rest_method("imopenlines.config.update", scope=SCOPE, app_only=True)
async def config_update(ctx: CallContext) -> Any:
    """Change a line's name, activity and options."""
    _apply(_line(ctx), _params(ctx))
    return True


@rest_method("imopenlines.config.delete", scope=SCOPE, app_only=True)
async def config_delete(ctx: CallContext) -> Any:
    """Delete a line: StatusDelete per connector, then LineDelete (contract §9.4)."""
    ctx.portal.openlines.delete_line(_line(ctx).line_id, user_id=ctx.user_id)
    return True
