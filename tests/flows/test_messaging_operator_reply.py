"""Flow: an operator answers in the sandbox portal; Bitrix24's event reaches the bridge's real
``POST /b24/events``, the relay stores it and the visitor's event log and live subscribers get it; the
operator's later edit and delete (after the delivery confirmation) follow the same path."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
from tests.bitrix24.sandbox_peer import SandboxProcess
from tests.relay.sandbox_bridge import CONNECTOR, sandbox_bridge

from openline_bridge.bitrix24 import methods
from openline_bridge.fanout.base import Subscription
from openline_bridge.relay import visitor_inbound
from openline_bridge.settings import Settings
from openline_bridge.store import messages
from openline_bridge.store.conversation_events import list_events
from openline_bridge.store.database import Database


async def next_event(subscription: Subscription, kind: str) -> dict[str, Any]:
    """The next published event of ``kind`` (the sandbox sends events concurrently; others are skipped)."""
    async with asyncio.timeout(10):
        async for item in subscription:
            event: dict[str, Any] = orjson.loads(item)
            if event["kind"] == kind:
                return event
    raise AssertionError("subscription ended")


async def test_operator_reply_edit_and_delete_reach_the_visitor(
    sandbox: SandboxProcess, database: Database, settings: Settings, tmp_path: Path
) -> None:
    async with sandbox_bridge(sandbox, database, settings, tmp_path / "files") as bridge:
        chat = bridge.chat
        await visitor_inbound.accept_message(bridge.relay, chat.conversation_id, "c-1", "Where is my order?")
        await bridge.visitor_writes("Where is my order?")  # what the worker's send_message job does
        async with bridge.fanout.subscribe(chat.conversation_id) as subscription:
            answer = await bridge.operator_writes(
                "[b]Shipped[/b] today: [url=https://t.example/1]track[/url]"
            )
            created = await next_event(subscription, "message.created")
            message = created["payload"]["message"]
            assert message["direction"] == "operator"
            assert message["author"]["name"]  # the sandbox operator's signature became the author
            assert message["text"] == "Shipped today: track"
            assert message["rich"][0] == {"type": "b", "children": [{"type": "text", "text": "Shipped"}]}

            # the worker's confirm_delivery job: records our external id on the operator message (§8.10)
            async with database.transaction() as session:
                stored = await messages.get(session, int(message["id"]))
            assert stored.bitrix_message_id == answer["bitrix_message_id"]
            assert stored.external_message_id is not None
            await methods.send_status_delivery(
                bridge.client.for_portal(bridge.member_id),
                CONNECTOR,
                1,
                [
                    methods.DeliveryReceipt(
                        answer["bitrix_chat_id"],
                        answer["bitrix_message_id"],
                        chat.external_chat_id,
                        [stored.external_message_id],
                    )
                ],
            )
            edit = await bridge.control.patch(
                f"/operator/messages/{answer['bitrix_message_id']}", json={"text": "Shipped yesterday"}
            )
            edit.raise_for_status()
            edited = await next_event(subscription, "message.edited")
            assert edited["payload"]["message"]["text"] == "Shipped yesterday"
            (
                await bridge.control.delete(f"/operator/messages/{answer['bitrix_message_id']}")
            ).raise_for_status()
            deleted = await next_event(subscription, "message.deleted")
            assert deleted["payload"]["message"]["deleted"] is True

        async with database.transaction() as session:
            log = await list_events(session, chat.conversation_id)
        kinds = [event.kind for event in log]
        assert [event.seq for event in log] == list(range(1, len(log) + 1))
        assert kinds[0] == "message.created"  # the visitor's own message
        assert "session.opened" in kinds  # Bitrix24 opened a session for the first message
        assert [k for k in kinds if k.startswith("message.") and k != "message.status"] == [
            "message.created",
            "message.created",
            "message.edited",
            "message.deleted",
        ]
