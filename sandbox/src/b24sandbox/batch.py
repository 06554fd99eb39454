"""The `batch` method (contract §3): up to 50 sub-calls given as `"method?urlencoded-query"`.

Sub-calls run in order as the same caller, each through the full method checks; later ones may
quote earlier results with `$result[<id>][<field>]...`. The answer always has the five members,
PHP-style: an empty member is `[]`, a member keyed `0..n-1` is a list.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from b24sandbox.calling import run_method, time_block
from b24sandbox.errors import RestError, argument_null, internal_error
from b24sandbox.phpform import parse_pairs
from b24sandbox.registry import BASIC_SCOPE, CallContext, rest_method
from b24sandbox.request_params import query_pairs

log = logging.getLogger("b24sandbox.rest")
MAX_COMMANDS = 50  # contract §3
_REFERENCE = re.compile(r"\$result\[([^\]]+)\]((?:\[[^\]]*\])*)")


def _php_array(members: dict[str, Any]) -> Any:
    """How PHP's json_encode renders an array: `[]` when empty, a list when keyed 0..n-1."""
    if list(members) == [str(i) for i in range(len(members))]:
        return list(members.values())
    return members


def _lookup(results: dict[str, Any], match: re.Match[str]) -> Any:
    value: Any = results.get(match.group(1))
    for key in re.findall(r"\[([^\]]*)\]", match.group(2)):
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    return value


def _substitute(value: Any, results: dict[str, Any]) -> Any:
    """Replace `$result[...]` references; an unresolved reference stays as written."""
    if isinstance(value, dict):
        return {k: _substitute(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, results) for v in value]
    if not isinstance(value, str) or "$result[" not in value:
        return value
    whole = _REFERENCE.fullmatch(value)
    if whole is not None:
        found = _lookup(results, whole)
        return value if found is None else found

    def text(match: re.Match[str]) -> str:
        found = _lookup(results, match)
        return match.group(0) if found is None else str(found)

    return _REFERENCE.sub(text, value)


def _commands(raw: Any) -> dict[str, str]:
    if isinstance(raw, list):
        raw = {str(i): v for i, v in enumerate(raw)}
    if not isinstance(raw, dict) or not raw:
        raise argument_null("cmd")
    return {str(k): str(v) for k, v in raw.items()}


def _halt(raw: Any) -> bool:
    return raw is True or str(raw).lower() in ("1", "true", "y")


@rest_method("batch", scope=BASIC_SCOPE)
async def batch(ctx: CallContext) -> dict[str, Any]:
    """Run the sub-calls and gather `result`, `result_error`, `result_total`, `result_next`, `result_time`."""
    commands = _commands(ctx.params.get("cmd"))
    if len(commands) > MAX_COMMANDS:
        raise RestError("ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded", 400)
    assert ctx.principal is not None  # the transport always sets the caller
    portal = ctx.portal
    halt = _halt(ctx.params.get("halt", False))
    results: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    times: dict[str, Any] = {}
    for command_id, command in commands.items():
        name, _, query = command.partition("?")
        params = _substitute(parse_pairs(query_pairs(query.encode())), results)
        start = portal.clock.now()
        clock_start = time.perf_counter()
        status, code = 200, None
        try:
            outcome = await run_method(portal, name.strip().lower(), params, ctx.principal, in_batch=True)
            results[command_id] = outcome.result
            finish = start + (time.perf_counter() - clock_start)
            times[command_id] = time_block(
                portal, start, finish, outcome.processing, ctx.principal.caller, outcome.method.name
            )
        except RestError as error:
            status, code = error.status, error.code
            errors[command_id] = error.body()
        except Exception:
            log.exception("batch sub-call %s failed", name)
            failure = internal_error()
            status, code = failure.status, failure.code
            errors[command_id] = failure.body()
        portal.calls.add(
            name.strip().lower(), ctx.principal.caller, status, code, start,
            time.perf_counter() - clock_start, in_batch=True,
        )
        if code is not None and halt:
            break
    return {
        "result": _php_array(results),
        "result_error": _php_array(errors),
        "result_total": [],
        "result_next": [],
        "result_time": _php_array(times),
    }
