"""What the visitor API needs at request time, built once per process (see :func:`build_widget_api`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis
from starlette.requests import HTTPConnection

from openline_bridge.channels.widget.ratelimit import (
    LiveSlots,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    VisitorLimits,
)
from openline_bridge.channels.widget.token_cache import TokenCache
from openline_bridge.crypto import SecretBox
from openline_bridge.fanout.base import Fanout
from openline_bridge.relay.context import Relay

__all__ = ["HEARTBEAT_SECONDS", "WidgetApi", "build_widget_api", "get_widget_api"]

HEARTBEAT_SECONDS = 25.0  # protocol §7.3 heartbeat_interval
AUTH_TIMEOUT_SECONDS = 10.0  # protocol §7.2: the auth frame must arrive within 10 s


@dataclass
class WidgetApi:
    """The relay (database, files, notifications), the fan-out live connections subscribe to, the rate
    limiter, secrets and the public URL the live URL is built from."""

    relay: Relay
    fanout: Fanout
    secret_box: SecretBox
    public_url: str
    limiter: RateLimiter
    limits: VisitorLimits = field(default_factory=VisitorLimits)
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    auth_timeout_seconds: float = AUTH_TIMEOUT_SECONDS
    live_slots: LiveSlots = field(default_factory=LiveSlots)
    token_cache: TokenCache = field(default_factory=TokenCache)

    @property
    def live_url(self) -> str:
        """``live.url`` of the session response: the WebSocket route on the bridge's public origin."""
        base = self.public_url.rstrip("/")
        scheme, rest = base.split("://", 1)
        return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/api/v1/conversation/live"


def build_widget_api(
    relay: Relay,
    fanout: Fanout,
    secret_box: SecretBox,
    public_url: str,
    *,
    redis: Redis | None = None,
    limits: VisitorLimits | None = None,
) -> WidgetApi:
    """The visitor API on the process's relay and fan-out; rate limits in Redis when one is configured."""
    limiter: RateLimiter = RedisRateLimiter(redis) if redis is not None else MemoryRateLimiter()
    return WidgetApi(
        relay=relay,
        fanout=fanout,
        secret_box=secret_box,
        public_url=public_url,
        limiter=limiter,
        limits=limits or VisitorLimits(),
    )


def get_widget_api(connection: HTTPConnection) -> WidgetApi:
    """The process's visitor API (``app.state.widget_api``)."""
    api: WidgetApi = connection.app.state.widget_api
    return api
