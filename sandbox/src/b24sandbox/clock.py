"""The sandbox clock: real time plus an offset that the control API can advance.

Token lifetimes, rate-limit buckets and event timestamps all read this clock, so a test can make an
access token expire without waiting an hour.
"""

from __future__ import annotations

import time


class Clock:
    """Wall-clock time shifted by an adjustable offset."""

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        """Current sandbox time in Unix seconds."""
        return time.time() + self._offset

    @property
    def offset(self) -> float:
        """Seconds the clock runs ahead of real time."""
        return self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward (never backward) and return the new time."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self._offset += seconds
        return self.now()
