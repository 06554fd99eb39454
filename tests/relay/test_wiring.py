"""The relay is built from the settings: files dir, upload limit, and the fan-out backend Redis decides."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from openline_bridge.crypto import SecretBox
from openline_bridge.fanout.memory import MemoryFanout
from openline_bridge.fanout.redis import RedisFanout
from openline_bridge.relay.wiring import build_messaging
from openline_bridge.settings import Settings
from openline_bridge.store.database import Database
from openline_bridge.store.tokens import DatabaseTokenStore


async def test_memory_fanout_without_redis(
    settings: Settings, database: Database, secret_box: SecretBox
) -> None:
    messaging = build_messaging(settings, database, None, DatabaseTokenStore(database, secret_box))
    try:
        assert isinstance(messaging.fanout, MemoryFanout)
        assert messaging.relay.files.root == settings.resolved_files_dir
        assert messaging.relay.file_policy.max_bytes == settings.max_upload_bytes
        assert messaging.consumer(asyncio.Event()).owner
    finally:
        await messaging.close()


@pytest.mark.redis
async def test_redis_fanout_with_redis(settings: Settings, database: Database, secret_box: SecretBox) -> None:
    async with Redis.from_url("redis://127.0.0.1:6379/0") as redis:
        messaging = build_messaging(settings, database, redis, DatabaseTokenStore(database, secret_box))
        assert isinstance(messaging.fanout, RedisFanout)
        assert messaging.relay.notifier.fanout is messaging.fanout
        await messaging.close()
        assert await redis.ping()  # the shared client stays open for the rest of the process
