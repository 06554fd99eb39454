"""The worker's tuning knobs (docs/worker.md "Tuning"); the ones operators change come from settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from openline_bridge.settings import Settings

__all__ = ["WorkerConfig"]


@dataclass(frozen=True)
class WorkerConfig:
    """How the worker claims, batches, retries and waits."""

    connector_id: str
    max_attempts: int = 12  # then the job is dead-lettered with its last error
    messages_per_call: int = (
        25  # MESSAGES per send/update/delete call: short calls keep the duplicate window small
    )
    claim_limit: int = 200  # jobs claimed per round of one portal
    poll_interval: float = 0.5  # seconds an idle portal waits before looking again (a wake-up cuts it short)
    lease_ttl: timedelta = timedelta(seconds=30)  # a dead dispatcher's portal is free again after this
    lock_for: timedelta = timedelta(minutes=2)  # a claimed job is taken over after this if nobody settles it
    backoff_base: float = 2.0  # seconds before the first retry; doubles per attempt
    backoff_cap: float = 300.0  # longest wait between attempts
    reprobe_interval: float = 60.0  # seconds between imconnector.status probes of parked lines
    sweep_interval: float = 5.0  # seconds between looks for free portals and uninstalled portals' jobs
    max_portals: int = 100  # portals one worker process drives at once

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.messages_per_call < 1 or self.claim_limit < 1:
            raise ValueError("max_attempts, messages_per_call and claim_limit must be positive")

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerConfig:
        """The configuration of ``settings`` (``worker_*`` and ``connector_id``)."""
        return cls(
            connector_id=settings.connector_id,
            max_attempts=settings.worker_max_attempts,
            messages_per_call=settings.worker_messages_per_call,
        )
