"""Faults injected into REST calls and event delivery, switchable at run time.

REST rules match a method name (lower-case, "*" for any) and fire either *before* the method runs
(the call had no effect) or *after* it took effect (the ambiguous failure a client cannot tell from a
lost request). Each rule applies to the next `count` matching calls, or to a `fraction` of them.
Event faults drop, duplicate or delay deliveries. The portal-domain change lives in `Portal`.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from b24sandbox.errors import RestError

When = Literal["before", "after"]


@dataclass
class _Rule:
    method: str
    when: When
    count: int | None = None
    fraction: float | None = None

    def matches(self, method: str, when: When) -> bool:
        return self.when == when and self.method in ("*", method)

    def take(self) -> bool:
        """Consume one application of the rule; False when it does not fire this time."""
        if self.count is not None:
            if self.count <= 0:
                return False
            self.count -= 1
            return True
        return self.fraction is None or random.random() < self.fraction


@dataclass
class ErrorRule(_Rule):
    """Answer `status` with `{"error": error, "error_description": ...}`."""

    status: int = 500
    error: str = "INTERNAL_SERVER_ERROR"
    error_description: str = "Internal server error"


@dataclass
class HoldRule(_Rule):
    """Hold the request `seconds` (a client-side timeout then loses the answer)."""

    seconds: float = 0.0


@dataclass
class EventFaults:
    """Faults of the event queue: no retries ever, so a dropped event is lost (contract §7.2)."""

    drop_next: int = 0
    drop_fraction: float = 0.0
    duplicate_next: int = 0
    duplicate_fraction: float = 0.0
    extra_delay: float = 0.0

    def take_drop(self) -> bool:
        """True when the next delivery must be dropped."""
        if self.drop_next > 0:
            self.drop_next -= 1
            return True
        return random.random() < self.drop_fraction

    def take_duplicate(self) -> bool:
        """True when the next delivery must be sent twice."""
        if self.duplicate_next > 0:
            self.duplicate_next -= 1
            return True
        return random.random() < self.duplicate_fraction


@dataclass
class Faults:
    """All injected faults of one portal."""

    errors: list[ErrorRule] = field(default_factory=list)
    holds: list[HoldRule] = field(default_factory=list)
    latency: float = 0.0
    events: EventFaults = field(default_factory=EventFaults)

    def take_error(self, method: str, when: When) -> RestError | None:
        """The forced error for this call at this point, if a rule fires."""
        for rule in self.errors:
            if rule.matches(method, when) and rule.take():
                return RestError(rule.error, rule.error_description, rule.status)
        return None

    def take_hold(self, method: str, when: When) -> float:
        """Seconds to hold this call at this point (0 when no rule fires)."""
        return sum(rule.seconds for rule in self.holds if rule.matches(method, when) and rule.take())

    @property
    def active(self) -> bool:
        """Whether any REST fault could fire (lets the fast path skip the checks)."""
        return bool(self.errors or self.holds or self.latency)

    def update(self, values: dict[str, Any]) -> None:
        """Replace the given parts; method names are case-insensitive (contract §2.1)."""
        if "errors" in values:
            self.errors = [ErrorRule(**{**r, "method": r["method"].lower()}) for r in values["errors"]]
        if "holds" in values:
            self.holds = [HoldRule(**{**r, "method": r["method"].lower()}) for r in values["holds"]]
        if "latency" in values:
            self.latency = float(values["latency"])
        if "events" in values:
            self.events = EventFaults(**values["events"])

    def as_dict(self) -> dict[str, Any]:
        """The current faults as the control API shows them."""
        return asdict(self)
