"""A bounded log of the REST calls the sandbox received, for tests and benchmarks."""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class CallRecord:
    """One REST call (a batch sub-call is a record of its own with `in_batch`)."""

    id: int
    method: str
    caller: str | None
    status: int
    error: str | None
    start: float
    duration: float
    in_batch: bool


class CallLog:
    """Ring buffer of the last `size` calls; ids grow monotonically so readers can page with `since`."""

    def __init__(self, size: int = 10_000) -> None:
        self._records: deque[CallRecord] = deque(maxlen=size)
        self._ids = itertools.count(1)

    def add(
        self, method: str, caller: str | None, status: int, error: str | None, start: float, duration: float,
        *, in_batch: bool = False,
    ) -> None:
        """Record one finished call."""
        record = CallRecord(next(self._ids), method, caller, status, error, start, duration, in_batch)
        self._records.append(record)

    def query(self, *, method: str | None = None, since: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """Calls with id > `since`, optionally of one method (any case), oldest first."""
        wanted = method.lower() if method else None
        out: list[dict[str, Any]] = []
        for record in self._records:
            if record.id > since and (wanted is None or record.method == wanted):
                out.append(asdict(record))
                if len(out) >= limit:
                    break
        return out
