"""The REST endpoint `/rest/<method>[.json]` and `/rest/<user_id>/<code>/<method>` as a raw ASGI app.

Kept free of framework validation on purpose: it must serve well over a thousand calls per second
on a small machine. Envelopes and statuses follow contract §2.2-§2.3 and §5.4.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson
from starlette.types import Receive, Scope, Send

from b24sandbox.calling import authenticate, run_method, time_block
from b24sandbox.errors import RestError, internal_error, method_not_found, query_limit_exceeded
from b24sandbox.request_params import read_params

if TYPE_CHECKING:
    from b24sandbox.portal import Portal
    from b24sandbox.registry import Principal

log = logging.getLogger("b24sandbox.rest")
PREFIX = "/rest/"
JSON_TYPE = (b"content-type", b"application/json; charset=utf-8")


async def read_body(receive: Receive) -> bytes:
    """The whole request body."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def header(scope: Scope, name: bytes) -> str:
    """A request header (first occurrence) or ""."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


async def send_json(
    send: Send, status: int, payload: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Send a complete JSON answer."""
    headers = [JSON_TYPE, (b"content-length", str(len(payload)).encode())]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def dump(payload: Any) -> bytes:
    """JSON bytes, as PHP's json_encode would show the same data (non-string keys allowed)."""
    return orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS)


def _is_error_dict(result: Any) -> bool:
    # contract §2.3: a method result with non-empty error AND error_description is the whole body.
    # Only a plain dict: a dict subclass (openlines' NestedFailure, the §14 #1 "docs" shape) opts out.
    return type(result) is dict and bool(result.get("error")) and bool(result.get("error_description"))


def split_path(path: str) -> tuple[str, tuple[str, str] | None]:
    """`(method, webhook)` of a REST path; method "" when the path is not a REST call."""
    # The SDK calls the OAuth host's `/rest/app.info/` with a trailing slash.
    parts = path[len(PREFIX) :].rstrip("/").split("/")
    name = parts[-1].lower()
    if name.endswith(".json"):
        name = name[: -len(".json")]
    if len(parts) == 1:
        return name, None
    if len(parts) == 3:
        return name, (parts[0], parts[1])
    return "", None


class _Call:
    """One REST request in progress: who called and how it ended."""

    def __init__(self, portal: Portal, start: float, clock_start: float) -> None:
        self.portal = portal
        self.start = start  # sandbox clock, for the `time` object
        self.clock_start = clock_start  # perf counter, for durations
        self.principal: Principal | None = None
        self.status = 200
        self.error_code: str | None = None
        self.headers: list[tuple[bytes, bytes]] = []

    async def answer(self, scope: Scope, body: bytes, name: str, webhook: tuple[str, str] | None) -> bytes:
        """The JSON body of a successful call (or of a pass-through error); raises RestError."""
        portal = self.portal
        if not name:
            raise method_not_found()
        params = await read_params(scope, header(scope, b"content-type"), body)
        principal = self.principal = authenticate(portal, params.pop("auth", None), webhook)
        if principal.app is not None:
            self.headers.append((b"x-bitrix-rest-application", principal.app.client_id.encode()))
        bucket = portal.limits.bucket
        if bucket is not None and not bucket.take(self.start):
            raise query_limit_exceeded()  # contract §4: leaky bucket, one unit per request
        outcome = await run_method(portal, name, params, principal)
        if outcome.method.passthrough_errors and _is_error_dict(outcome.result):
            self.error_code = str(outcome.result["error"])
            return dump(outcome.result)
        finish = self.start + (time.perf_counter() - self.clock_start)
        method = outcome.method.name
        timing = time_block(portal, self.start, finish, outcome.processing, principal.caller, method)
        return dump({"result": outcome.result, "time": timing})


class RestEndpoint:
    """ASGI app answering every `/rest/...` request of the current portal."""

    def __init__(self, portal: Callable[[], Portal]) -> None:
        self._portal = portal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        portal = self._portal()
        if header(scope, b"host") in portal.old_domains:
            await self._redirect(portal, scope, send)
            return
        body = await read_body(receive)
        call = _Call(portal, portal.clock.now(), time.perf_counter())
        name, webhook = split_path(scope["path"])
        try:
            payload = await call.answer(scope, body, name, webhook)
        except RestError as error:
            call.status, call.error_code, payload = error.status, error.code, dump(error.body())
        except Exception:
            log.exception("REST method %s failed", name)
            failure = internal_error()
            call.status, call.error_code, payload = failure.status, failure.code, dump(failure.body())
        duration = time.perf_counter() - call.clock_start
        call.headers.append((b"x-bitrix-rest-time", f"{duration:.6f}".encode()))
        caller = call.principal.caller if call.principal else None
        portal.calls.add(name, caller, call.status, call.error_code, call.start, duration)
        await send_json(send, call.status, payload, call.headers)

    @staticmethod
    async def _redirect(portal: Portal, scope: Scope, send: Send) -> None:
        # contract §2.1: a renamed portal answers 302 to the new domain; the SDK switches and retries.
        query = scope.get("query_string", b"")
        location = f"{portal.protocol}://{portal.domain}{scope['path']}"
        if query:
            location += "?" + query.decode("latin-1")
        await send({
            "type": "http.response.start",
            "status": 302,
            "headers": [(b"location", location.encode()), (b"content-length", b"0")],
        })
        await send({"type": "http.response.body", "body": b""})
