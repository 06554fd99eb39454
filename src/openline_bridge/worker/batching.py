"""Several typed method calls sent as one ``batch`` request (contract §3), parameters spelled only once.

Each call is an ordinary ``bitrix24.methods`` function given a collecting caller: it records the
(method, params) it would send and waits; once every call has recorded its request, they go out as
``batch`` requests of at most 50 commands, and each waiting call gets its own sub-result or sub-error,
so parsing and error mapping stay exactly those of a direct call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from openline_bridge.bitrix24.client import MAX_BATCH_COMMANDS, RestCaller, RestResponse, Timeouts, run_batch
from openline_bridge.bitrix24.errors import Bitrix24Error

__all__ = ["call_together"]

T = TypeVar("T")

_SETTLE_ROUNDS = 10  # event-loop turns allowed for every call to reach its request


@dataclass
class _Request:
    method: str
    params: Mapping[str, Any]
    answer: asyncio.Future[RestResponse]


class _Collector:
    """A :class:`RestCaller` that records requests instead of sending them."""

    def __init__(self) -> None:
        self.requests: list[_Request] = []
        self.closed = False

    async def call(
        self, method: str, params: Mapping[str, Any] | None = None, *, timeouts: Timeouts | None = None
    ) -> RestResponse:
        if self.closed:
            raise RuntimeError(f"{method} was called after its batch had been sent")
        answer: asyncio.Future[RestResponse] = asyncio.get_running_loop().create_future()
        self.requests.append(_Request(method, dict(params or {}), answer))
        return await answer


async def _send(caller: RestCaller, requests: Sequence[_Request]) -> None:
    if len(requests) == 1:
        # one call needs no batch envelope
        only = requests[0]
        try:
            only.answer.set_result(await caller.call(only.method, only.params))
        except Bitrix24Error as exc:
            only.answer.set_exception(exc)
        return
    for start in range(0, len(requests), MAX_BATCH_COMMANDS):
        chunk = requests[start : start + MAX_BATCH_COMMANDS]
        commands = {f"c{index}": (item.method, item.params) for index, item in enumerate(chunk)}
        try:
            outcome = await run_batch(caller, commands)
        except Bitrix24Error as exc:
            for item in chunk:
                item.answer.set_exception(exc)
            continue
        for key, item in zip(commands, chunk, strict=True):
            if key in outcome.errors:
                item.answer.set_exception(outcome.errors[key])
            else:
                item.answer.set_result(RestResponse(outcome.results.get(key)))


async def call_together(
    caller: RestCaller, calls: Sequence[Callable[[RestCaller], Awaitable[T]]]
) -> list[T | Bitrix24Error]:
    """Run ``calls`` (each given a collecting caller) as few ``batch`` requests; results in order.

    A call's Bitrix24 failure is returned in its place; any other exception propagates.
    """
    collector = _Collector()
    tasks = [asyncio.ensure_future(call(collector)) for call in calls]
    for _ in range(_SETTLE_ROUNDS):
        await asyncio.sleep(0)
        if len(collector.requests) + sum(task.done() for task in tasks) >= len(tasks):
            break
    collector.closed = True
    try:
        await _send(caller, collector.requests)
    finally:
        for request in collector.requests:
            if not request.answer.done():
                request.answer.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    out: list[T | Bitrix24Error] = []
    for result in results:
        if isinstance(result, Bitrix24Error):
            out.append(result)
        elif isinstance(result, BaseException):
            raise result
        else:
            out.append(result)
    return out
