"""Flow: the whole messaging loop with the real outbox worker. A visitor message goes out through the
worker and its status tick reaches the visitor's live subscription; the operator's answer comes back as
a real event, the worker confirms its delivery (so Bitrix24 knows our id for it), and the operator's
later edit then reaches the visitor too — which Bitrix24 only sends for confirmed messages (§9.2)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
from tests.bitrix24.sandbox_peer import SandboxProcess
from tests.relay.sandbox_bridge import CONNECTOR, sandbox_bridge
from tests.worker.peer import wait_until

from openline_bridge.fanout.base import Subscription
from openline_bridge.relay import visitor_inbound
from openline_bridge.settings import Settings
from openline_bridge.store import portals
from openline_bridge.store.database import Database
from openline_bridge.store.types import utc_now
from openline_bridge.worker.config import WorkerConfig
from openline_bridge.worker.runner import Worker


async def next_event(subscription: Subscription, kind: str) -> dict[str, Any]:
    """The next published event of ``kind`` (others are skipped), within 15 s."""
    async with asyncio.timeout(15):
        async for item in subscription:
            event: dict[str, Any] = orjson.loads(item)
            if event["kind"] == kind:
                return event
    raise AssertionError("subscription ended")


async def test_visitor_message_operator_answer_and_edit_through_the_worker(
    sandbox: SandboxProcess, database: Database, settings: Settings, tmp_path: Path
) -> None:
    async with sandbox_bridge(sandbox, database, settings, tmp_path / "files") as bridge:
        async with database.transaction() as session:
            # the install's setup is done (the worker serves installed portals only)
            await portals.mark_install_finished(session, bridge.member_id, utc_now())
        worker = Worker(
            database=database,
            client=bridge.client,
            notifier=bridge.relay.notifier,
            signer=bridge.relay.signer,
            config=WorkerConfig(connector_id=CONNECTOR, poll_interval=0.05, sweep_interval=0.1),
        )
        running = asyncio.create_task(worker.run())
        try:
            conversation = bridge.chat.conversation_id
            async with bridge.fanout.subscribe(conversation) as subscription:
                posted = await visitor_inbound.accept_message(bridge.relay, conversation, "c-1", "Hello?")
                tick = await next_event(subscription, "message.status")
                assert tick["payload"] == {
                    "message_id": posted.message["id"],
                    "status": "delivered",
                    "failure": None,
                }
                answer = await bridge.operator_writes("Hi, how can I help?")
                await next_event(subscription, "message.created")

                async def confirmed() -> bool:
                    chat = (await bridge.control.get(f"/conversations/{answer['bitrix_chat_id']}")).json()
                    reply = next(
                        m for m in chat["messages"] if m["bitrix_message_id"] == answer["bitrix_message_id"]
                    )
                    return bool(reply["delivered"] and reply["connector_mid"])

                await wait_until(confirmed, within=15)
                edit = await bridge.control.patch(
                    f"/operator/messages/{answer['bitrix_message_id']}", json={"text": "How can I help you?"}
                )
                edit.raise_for_status()
                edited = await next_event(subscription, "message.edited")
                assert edited["payload"]["message"]["text"] == "How can I help you?"
        finally:
            await worker.stop()
            await running
