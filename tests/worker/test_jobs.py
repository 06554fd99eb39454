"""Job kinds, payloads and the enqueue helpers the relay calls inside its own transaction."""

from __future__ import annotations

import pytest

from openline_bridge.store.database import Database
from openline_bridge.store.portals import PortalRecord
from openline_bridge.worker import jobs
from openline_bridge.worker.jobs import ConversationJob, JobPayloadError, MessageJob, parse_payload


async def test_enqueue_is_idempotent_per_message_and_per_revision(
    database: Database, installed_portal: PortalRecord
) -> None:
    ids = {"portal_id": installed_portal.id, "conversation_id": 7}
    async with database.transaction() as session:
        first = await jobs.send_message(session, message_id=1, **ids)
        again = await jobs.send_message(session, message_id=1, **ids)
        resend = await jobs.send_message(session, message_id=1, revision="retry-5", **ids)
        edit_a = await jobs.update_message(session, message_id=1, revision="a", **ids)
        edit_a_again = await jobs.update_message(session, message_id=1, revision="a", **ids)
        edit_b = await jobs.update_message(session, message_id=1, revision="b", **ids)
        rename = await jobs.set_chat_name(session, revision="r1", **ids)
    assert first.created and not again.created and again.job_id == first.job_id
    assert resend.created and resend.job_id != first.job_id
    assert edit_a.created and not edit_a_again.created and edit_b.created
    assert rename.created


def test_payloads_are_typed_and_checked() -> None:
    assert parse_payload("send_message", {"message_id": 3}) == MessageJob(3)
    assert parse_payload("set_chat_name", {"conversation_id": 4}) == ConversationJob(4)
    for kind, payload in [
        ("send_message", {"message_id": "3"}),
        ("send_message", {"message_id": True}),
        ("confirm_delivery", {}),
        ("set_chat_name", {"message_id": 4}),
        ("make_coffee", {"message_id": 1}),
    ]:
        with pytest.raises(JobPayloadError):
            parse_payload(kind, payload)
