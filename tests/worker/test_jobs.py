"""Job kinds, payloads and the enqueue helpers the relay calls inside its own transaction."""

from __future__ import annotations

from typing import Any

import pytest

from openline_bridge.store.database import Database
from openline_bridge.store.outbox import Enqueued
from openline_bridge.store.portals import PortalRecord
from openline_bridge.worker import jobs
from openline_bridge.worker.jobs import ConversationJob, JobPayloadError, MessageJob, parse_payload


async def test_enqueue_is_idempotent_per_message_and_per_revision(
    database: Database, installed_portal: PortalRecord
) -> None:
    portal_id, conversation_id = installed_portal.id, 7
    async with database.transaction() as session:

        async def send(revision: str | None = None) -> Enqueued:
            return await jobs.send_message(
                session, portal_id=portal_id, conversation_id=conversation_id, message_id=1, revision=revision
            )

        async def update(revision: str) -> Enqueued:
            return await jobs.update_message(
                session, portal_id=portal_id, conversation_id=conversation_id, message_id=1, revision=revision
            )

        first = await send()
        again = await send()
        resend = await send("retry-5")
        edit_a = await update("a")
        edit_a_again = await update("a")
        edit_b = await update("b")
        rename = await jobs.set_chat_name(
            session, portal_id=portal_id, conversation_id=conversation_id, revision="r1"
        )
    assert first.created and not again.created and again.job_id == first.job_id
    assert resend.created and resend.job_id != first.job_id
    assert edit_a.created and not edit_a_again.created and edit_b.created
    assert rename.created


def test_payloads_are_typed_and_checked() -> None:
    assert parse_payload("send_message", {"message_id": 3}) == MessageJob(3)
    assert parse_payload("set_chat_name", {"conversation_id": 4}) == ConversationJob(4)
    cases: list[tuple[str, dict[str, Any]]] = [
        ("send_message", {"message_id": "3"}),
        ("send_message", {"message_id": True}),
        ("confirm_delivery", {}),
        ("set_chat_name", {"message_id": 4}),
        ("make_coffee", {"message_id": 1}),
    ]
    for kind, payload in cases:
        with pytest.raises(JobPayloadError):
            parse_payload(kind, payload)
