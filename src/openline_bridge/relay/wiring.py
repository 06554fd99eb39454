"""Building the messaging relay's long-lived parts from the settings, once per process.

A process needs ONE :class:`Messaging`: the worker's status ticks, the relay's events and the visitors'
live connections must meet on its fan-out (two in-memory fan-outs in one process never see each other).
The application keeps it (``app.state.relay`` = its ``relay`` for ``channels.files_route``), runs
``messaging.consumer(wakeup).run()`` as a background task, and closes it on shutdown.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
from redis.asyncio import Redis

from openline_bridge.bitrix24.auth import TokenStore
from openline_bridge.fanout.base import Fanout
from openline_bridge.fanout.memory import MemoryFanout
from openline_bridge.fanout.redis import RedisFanout
from openline_bridge.relay.context import Relay
from openline_bridge.relay.downloads import OperatorFiles
from openline_bridge.relay.files import FilePolicy, FileSigner, FileStore
from openline_bridge.relay.inbox_consumer import MessagingInbox
from openline_bridge.relay.notify import Notifier
from openline_bridge.settings import Settings
from openline_bridge.store.database import Database

__all__ = ["FANOUT_PREFIX", "Messaging", "build_fanout", "build_messaging"]

FANOUT_PREFIX = "olb:fanout:"


@dataclass
class Messaging:
    """The fan-out, the relay and the operator-file downloader of one bridge process."""

    fanout: Fanout
    relay: Relay
    operator_files: OperatorFiles
    http: httpx.AsyncClient

    def consumer(self, wakeup: asyncio.Event) -> MessagingInbox:
        """The task applying message and dialog events from the inbox (wake it when one is recorded)."""
        return MessagingInbox(self.relay, self.operator_files, wakeup)

    async def close(self) -> None:
        """End live subscriptions (the fan-out) and close the download client."""
        await self.fanout.close()
        await self.http.aclose()


def build_fanout(redis: Redis | None) -> Fanout:
    """Redis pub/sub when Redis is configured (several bridge instances), else in-process."""
    return RedisFanout(redis, prefix=FANOUT_PREFIX) if redis is not None else MemoryFanout()


def build_messaging(
    settings: Settings, database: Database, redis: Redis | None, tokens: TokenStore
) -> Messaging:
    """The process's fan-out (:func:`build_fanout`) and the relay on it, files under the configured files
    dir, operator files fetched with the portal's stored access token."""
    fanout = build_fanout(redis)
    relay = Relay(
        database=database,
        notifier=Notifier(fanout),
        files=FileStore(settings.resolved_files_dir),
        signer=FileSigner(settings.secret_key.get_secret_value(), settings.public_url),
        file_policy=FilePolicy(max_bytes=settings.max_upload_bytes),
    )

    async def access_token(member_id: str) -> str:
        return (await tokens.load(member_id)).access_token

    http = httpx.AsyncClient()
    return Messaging(fanout, relay, OperatorFiles(relay.files, http, access_token), http)
