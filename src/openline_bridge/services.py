"""The long-lived objects of a bridge process, built once from the settings and shared by every request.

Routes reach them through :func:`get_services` (``request.app.state.services``); the CLI builds the same
object for one-off commands. Nothing here talks to Bitrix24 or the database at construction time:
:meth:`Services.start` applies migrations, :meth:`Services.close` releases connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass, field

import httpx
from redis.asyncio import Redis
from starlette.requests import HTTPConnection

from openline_bridge.bitrix24.client import Bitrix24Client
from openline_bridge.bitrix24.ratelimit import PortalRateLimiter, RateLimit, build_limiter
from openline_bridge.crypto import SecretBox
from openline_bridge.event_intake import EventIntake
from openline_bridge.logging import StructuredLogger, get_logger
from openline_bridge.relay.lifecycle import MESSAGING_EVENTS
from openline_bridge.settings import Settings
from openline_bridge.store.database import Database
from openline_bridge.store.migrate import upgrade
from openline_bridge.store.tokens import DatabaseTokenStore

__all__ = ["Services", "get_services"]

_RATE_LIMIT_KEY_PREFIX = "olb:ratelimit:"
# Concurrent event-intake transactions on PostgreSQL: overlapping commits, well under the pool's 5 + 10.
_POSTGRES_INTAKE_WRITERS = 4


@dataclass
class Services:
    """Database, secrets, tokens, the Bitrix24 client and its rate limiter, optional Redis, the logger.

    ``inbox_wakeup`` is set whenever this process records a lifecycle event, so the inbox processor
    starts at once instead of waiting for its next poll; ``messaging_wakeup`` does the same for message
    and dialog events and the messaging engine. ``intake`` (created on first use) records events.
    """

    settings: Settings
    database: Database
    secret_box: SecretBox
    token_store: DatabaseTokenStore
    limiter: PortalRateLimiter
    bitrix24: Bitrix24Client
    redis: Redis | None
    log: StructuredLogger
    inbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    messaging_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    _intake: EventIntake | None = field(default=None, init=False, repr=False)

    @property
    def intake(self) -> EventIntake:
        """The process's event intake (group commit of ``/b24/events``), created on first use."""
        if self._intake is None:
            self._intake = EventIntake(
                self.database,
                self.secret_box,
                on_recorded=self._wake_inbox,
                writers=_POSTGRES_INTAKE_WRITERS if self.database.is_postgresql else 1,
            )
        return self._intake

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        database: Database | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> Services:
        """Wire everything from ``settings``.

        ``database`` replaces the one ``settings`` names (tests pass an isolated schema); ``transport``
        replaces the network for the Bitrix24 client.
        """
        database = database or Database.connect(settings.resolved_database_url)
        secret_box = SecretBox(settings.secret_key.get_secret_value())
        token_store = DatabaseTokenStore(database, secret_box)
        redis = Redis.from_url(settings.redis_url) if settings.redis_url is not None else None
        # contract §4, pitfall P26: with Redis the budget is shared by every bridge process.
        limiter = build_limiter(
            RateLimit(settings.rate_limit_burst, settings.rate_limit_per_second),
            redis=redis,
            key_prefix=_RATE_LIMIT_KEY_PREFIX,
        )

        async def client_secret(client_id: str) -> str:
            app = settings.find_app(client_id)
            if app is None:
                raise KeyError(client_id)
            return app.client_secret.get_secret_value()

        bitrix24 = Bitrix24Client(
            token_store, client_secret, limiter, transport=transport, oauth_url=settings.b24_oauth_url
        )
        return cls(
            settings=settings,
            database=database,
            secret_box=secret_box,
            token_store=token_store,
            limiter=limiter,
            bitrix24=bitrix24,
            redis=redis,
            log=get_logger("openline_bridge"),
        )

    def _wake_inbox(self, event_names: Collection[str]) -> None:
        # Each consumer is woken only for the events it claims: a wake-up costs a claim query.
        names = set(event_names)
        if not names <= MESSAGING_EVENTS:
            self.inbox_wakeup.set()
        if names & MESSAGING_EVENTS:
            self.messaging_wakeup.set()

    async def start(self) -> None:
        """Bring the database schema up to date (a no-op when it already is)."""
        await upgrade(self.database)

    async def close(self) -> None:
        """Stop the event intake, close the HTTP pool, Redis and the database connections."""
        if self._intake is not None:
            await self._intake.close()
        await self.bitrix24.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        await self.database.dispose()


def get_services(request: HTTPConnection) -> Services:
    """The process's :class:`Services` (a FastAPI dependency: ``Depends(get_services)``)."""
    services: Services = request.app.state.services
    return services
