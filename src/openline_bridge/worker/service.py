"""The worker built from a bridge process's services: inside ``serve`` and as ``openline-bridge worker``."""

from __future__ import annotations

import asyncio
import signal

from openline_bridge.relay.context import Relay
from openline_bridge.relay.wiring import build_messaging
from openline_bridge.services import Services
from openline_bridge.worker.config import WorkerConfig
from openline_bridge.worker.runner import Worker

__all__ = ["build_worker", "run_standalone"]


def build_worker(services: Services, relay: Relay) -> Worker:
    """A worker on the process's database and Bitrix24 client (with its shared rate limiter).

    ``relay`` gives the notifier (pass the one live visitors of this process subscribe through, so status
    ticks reach them at once) and the file signer (URLs Bitrix24 downloads visitor files from).
    """
    return Worker(
        database=services.database,
        client=services.bitrix24,
        notifier=relay.notifier,
        signer=relay.signer,
        config=WorkerConfig.from_settings(services.settings),
    )


async def run_standalone(services: Services) -> None:
    """``openline-bridge worker``: run until SIGTERM/SIGINT, then stop gracefully (leases released).

    Status ticks go out through the process's own fan-out: Redis when configured, so visitors connected
    to any bridge instance see them; otherwise they catch up by ``seq``.
    """
    await services.start()
    messaging = build_messaging(services.settings, services.database, services.redis, services.token_store)
    worker = build_worker(services, messaging.relay)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, worker.request_stop)
    try:
        await worker.run()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await messaging.close()
