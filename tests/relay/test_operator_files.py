"""Operator files from a real sandbox portal: downloaded with the portal's token where the link needs it,
stored on disk, served to the visitor; a failing link leaves the message shown with the file unavailable."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.bitrix24.sandbox_peer import SandboxProcess, free_port
from tests.relay.sandbox_bridge import SandboxBridge, sandbox_bridge

from openline_bridge.bitrix24.events import EventFile
from openline_bridge.fanout.base import Subscription
from openline_bridge.relay import operator_inbound
from openline_bridge.relay.downloads import DownloadFailed, PortalRef
from openline_bridge.settings import Settings
from openline_bridge.store import attachments
from openline_bridge.store.database import Database

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


async def next_event(subscription: Subscription, kind: str) -> dict[str, Any]:
    """The next event of ``kind`` published for the conversation (at most 10 s; others are skipped, since
    the sandbox sends events concurrently, e.g. a dialog start may come after the first reply)."""
    async with asyncio.timeout(10):
        async for item in subscription:
            event: dict[str, Any] = orjson.loads(item)
            if event["kind"] == kind:
                return event
    raise AssertionError("subscription ended")


async def reply_with_file(bridge: SandboxBridge) -> dict[str, Any]:
    await bridge.visitor_writes("Please send the photo")
    async with bridge.fanout.subscribe(bridge.chat.conversation_id) as subscription:
        content = base64.b64encode(PNG).decode()
        await bridge.operator_writes("Here it is", [{"name": "photo.png", "content_base64": content}])
        return await next_event(subscription, "message.created")


@pytest.mark.parametrize("links_need_auth", [False, True], ids=["public-link", "link-needs-token"])
async def test_operator_file_is_downloaded_and_served(
    sandbox: SandboxProcess, database: Database, settings: Settings, tmp_path: Path, links_need_auth: bool
) -> None:
    async with sandbox_bridge(sandbox, database, settings, tmp_path / "files") as bridge:
        (
            await bridge.control.put("/faults", json={"variants": {"file_links_need_auth": links_need_auth}})
        ).raise_for_status()
        event = await reply_with_file(bridge)
        message = event["payload"]["message"]
        assert message["text"] == "Here it is" and message["direction"] == "operator"
        (attachment,) = message["attachments"]
        assert attachment["available"] is True and attachment["mime"] == "image/png"
        assert (attachment["width"], attachment["height"]) == (1, 1)
        async with database.transaction() as session:
            stored = await attachments.get(session, int(attachment["id"]))
        assert stored.storage_path is not None
        assert bridge.relay.files.path_of(stored.storage_path).read_bytes() == PNG


async def test_failing_link_keeps_the_message_and_a_retry_fetches_the_file(
    sandbox: SandboxProcess, database: Database, settings: Settings, tmp_path: Path
) -> None:
    async with sandbox_bridge(sandbox, database, settings, tmp_path / "files") as bridge:
        # The portal's disk wants a token and refuses ours (401), through every attempt.
        variants = {"variants": {"file_links_need_auth": True}}
        (await bridge.control.put("/faults", json=variants)).raise_for_status()
        bridge.token_override["token"] = "revoked-token"
        event = await reply_with_file(bridge)
        message = event["payload"]["message"]
        (attachment,) = message["attachments"]
        assert message["text"] == "Here it is"
        assert attachment["available"] is False and attachment["url"] is None
        async with database.transaction() as session:
            stored = await attachments.get(session, int(attachment["id"]))
        assert stored.download_error == "portal answered HTTP 401"
        assert stored.storage_path is None

        bridge.token_override.clear()
        async with bridge.fanout.subscribe(bridge.chat.conversation_id) as subscription:
            assert await operator_inbound.retry_unavailable_files(bridge.relay, bridge.files) == 1
            edited = await next_event(subscription, "message.edited")
        assert edited["payload"]["message"]["attachments"][0]["available"] is True
        assert await operator_inbound.retry_unavailable_files(bridge.relay, bridge.files) == 0


async def test_unreachable_link_fails_after_bounded_attempts(
    sandbox: SandboxProcess, database: Database, settings: Settings, tmp_path: Path
) -> None:
    async with sandbox_bridge(sandbox, database, settings, tmp_path / "files") as bridge:
        dead = EventFile("x.png", f"http://127.0.0.1:{free_port()}/x.png", None, None, None, None, None, None)
        with pytest.raises(DownloadFailed) as failed:
            await bridge.files.fetch(PortalRef(bridge.member_id, "http://127.0.0.1:1/rest/"), dead)
        assert "ConnectError" in failed.value.reason
