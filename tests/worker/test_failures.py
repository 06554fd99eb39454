"""What the worker does when Bitrix24 refuses: per-message failures, inactive lines, errors, storms."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from tests.worker.peer import CONNECTOR, FAST, Bridge, wait_until

from openline_bridge.bitrix24 import methods
from openline_bridge.bitrix24.methods import ConnectorData
from openline_bridge.bitrix24.ratelimit import LocalLeakyBucket, RateLimit
from openline_bridge.relay import lines as line_actions
from openline_bridge.relay.visitor_inbound import accept_message
from openline_bridge.store import attachments, lines
from openline_bridge.store.attachments import NewAttachment
from openline_bridge.store.models import Message, MessageStatus, OutboxStatus, PortalError
from openline_bridge.store.types import utc_now


async def _message(bridge: Bridge, message_id: int) -> Message:
    async with bridge.database.transaction() as session:
        found = await session.get(Message, message_id)
        assert found is not None
        return found


async def test_per_message_failure_fails_only_that_message(bridge: Bridge) -> None:
    conversation = await bridge.new_conversation("Anna")
    first = await bridge.post(conversation, "before")
    async with bridge.database.transaction() as session:
        # the file's URL (the bridge's public URL) is unreachable, so Bitrix24 gets neither text nor file
        unreachable = await attachments.add(
            session, NewAttachment(conversation, "photo.png", "image/png", 10, storage_path="aa/x"), utc_now()
        )
    posted = await accept_message(bridge.relay, conversation, "only-a-file", "", [str(unreachable.id)])
    broken = int(posted.message["id"])
    last = await bridge.post(conversation, "after")
    async with bridge.running():
        await wait_until(bridge.all_settled)
    failed = await _message(bridge, broken)
    assert (failed.status, failed.failure_code) == (MessageStatus.FAILED, "rejected")
    assert failed.failure_reason
    assert (await _message(bridge, first)).status == MessageStatus.DELIVERED
    assert (await _message(bridge, last)).status == MessageStatus.DELIVERED
    dead = [job for job in await bridge.jobs() if job.status == OutboxStatus.DEAD]
    assert len(dead) == 1 and dead[0].payload == {"message_id": broken}
    assert dead[0].dead_reason is not None and dead[0].dead_reason.startswith("rejected: ")
    assert list(bridge.chat_texts().values()) == [["before", "after"]]


async def test_inactive_line_parks_then_delivers_after_reactivation(bridge: Bridge) -> None:
    bridge.sandbox.control("POST", f"/lines/{bridge.bitrix_line_id}/connectors/{CONNECTOR}/disconnect")
    conversation = await bridge.new_conversation()
    sent = [await bridge.post(conversation, f"m{i}") for i in range(3)]
    async with bridge.running():

        async def parked() -> bool:
            jobs = await bridge.jobs()
            return any(job.status == OutboxStatus.PARKED for job in jobs)

        await wait_until(parked)
        jobs = await bridge.jobs()
        # the three went out in one call and wait together
        assert [job.status for job in jobs] == [OutboxStatus.PARKED] * 3
        assert {job.last_error for job in jobs} == {f"line_inactive:{bridge.bitrix_line_id}"}
        assert {(await _message(bridge, m)).status for m in sent} == {MessageStatus.QUEUED}
        await methods.activate(
            bridge.client().for_portal(bridge.member_id), CONNECTOR, bridge.bitrix_line_id, active=True
        )
        await wait_until(bridge.all_settled)  # the periodic re-probe resumed the parked job
    assert {(await _message(bridge, m)).status for m in sent} == {MessageStatus.DELIVERED}
    assert list(bridge.chat_texts().values()) == [["m0", "m1", "m2"]]
    async with bridge.database.transaction() as session:
        codes = list(await session.scalars(select(PortalError.code)))
    assert f"line_inactive:{bridge.bitrix_line_id}" in codes


async def test_503_storm_loses_nothing(bridge: Bridge) -> None:
    rule = {"method": "imconnector.send.messages", "status": 503, "error": "QUERY_LIMIT_EXCEEDED"}
    bridge.sandbox.control("PUT", "/faults", {"errors": [{**rule, "count": 4}]})
    conversations = [await bridge.new_conversation() for _ in range(4)]
    for i in range(5):
        for conversation in conversations:
            await bridge.post(conversation, f"{conversation}-{i}")
    async with bridge.running():
        await wait_until(bridge.all_settled)
    assert set((await bridge.statuses()).values()) == {MessageStatus.DELIVERED}
    arrived = bridge.chat_texts()
    assert sorted(arrived.values()) == sorted([f"{c}-{i}" for i in range(5)] for c in conversations)
    refused = [call for call in bridge.calls("imconnector.send.messages") if call["status"] == 503]
    assert len(refused) == 4


async def test_own_pacing_never_trips_the_portal_limit(bridge: Bridge) -> None:
    bridge.sandbox.control("PUT", "/limits", {"rate": "50/2"})
    bridge.limiter = LocalLeakyBucket(RateLimit(50, 2.0))
    conversations = [await bridge.new_conversation() for _ in range(60)]
    for conversation in conversations:
        await bridge.post(conversation, "hello")
    # one message per call forces more calls than the burst allows
    async with bridge.running(bridge.worker(messages_per_call=1)):
        await wait_until(bridge.all_settled, within=60)
    calls = bridge.calls()
    assert len(calls) > 50
    assert not [call for call in calls if call["status"] == 503]
    assert set((await bridge.statuses()).values()) == {MessageStatus.DELIVERED}


async def test_gives_up_after_max_attempts_with_the_reason(bridge: Bridge) -> None:
    rule = {"method": "imconnector.send.messages", "status": 500, "error": "INTERNAL_SERVER_ERROR"}
    bridge.sandbox.control("PUT", "/faults", {"errors": [rule]})
    conversation = await bridge.new_conversation()
    message = await bridge.post(conversation, "doomed")
    async with bridge.running(bridge.worker(replace(FAST, max_attempts=3))):
        await wait_until(bridge.all_settled)
    (job,) = await bridge.jobs()
    assert (job.status, job.attempts) == (OutboxStatus.DEAD, 3)
    assert job.dead_reason is not None and "INTERNAL_SERVER_ERROR" in job.dead_reason
    stored = await _message(bridge, message)
    assert (stored.status, stored.failure_code) == (MessageStatus.FAILED, "gave_up")


async def test_permanent_error_dead_letters_at_once(bridge: Bridge) -> None:
    rule = {"method": "imconnector.send.messages", "status": 400, "error": "ERROR_ARGUMENT", "count": 1}
    bridge.sandbox.control("PUT", "/faults", {"errors": [rule]})
    conversation = await bridge.new_conversation()
    message = await bridge.post(conversation, "refused")
    async with bridge.running():
        await wait_until(bridge.all_settled)
    (job,) = await bridge.jobs()
    assert (job.status, job.attempts) == (OutboxStatus.DEAD, 1)
    assert (await _message(bridge, message)).failure_code == "rejected"
    assert bridge.chat_texts() == {}


async def test_reconnecting_the_line_resumes_parked_jobs_at_once(bridge: Bridge) -> None:
    bridge.sandbox.control("POST", f"/lines/{bridge.bitrix_line_id}/connectors/{CONNECTOR}/disconnect")
    conversation = await bridge.new_conversation()
    message = await bridge.post(conversation, "waiting")
    async with bridge.running(bridge.worker(reprobe_interval=3600)):  # no periodic re-probe after the first

        async def parked() -> bool:
            return [job.status for job in await bridge.jobs()] == [OutboxStatus.PARKED]

        await wait_until(parked)
        async with bridge.database.transaction() as session:
            line = await lines.find(session, bridge.portal_id, bridge.bitrix_line_id)
        assert line is not None
        caller = bridge.client().for_portal(bridge.member_id)
        # what the settings page and the health check do
        await line_actions.connect(
            bridge.database, caller, line_actions.LineTarget(CONNECTOR, line), ConnectorData("w"), utc_now()
        )
        await wait_until(bridge.all_settled)
    assert (await _message(bridge, message)).status == MessageStatus.DELIVERED


async def test_revoked_access_parks_the_portal_until_it_works_again(bridge: Bridge) -> None:
    revoked = {"method": "imconnector.send.messages", "status": 402, "error": "PAYMENT_REQUIRED", "count": 1}
    bridge.sandbox.control("PUT", "/faults", {"errors": [revoked]})
    conversations = [await bridge.new_conversation() for _ in range(2)]
    for conversation in conversations:
        await bridge.post(conversation, "hello")
    async with bridge.running():
        await wait_until(bridge.all_settled)  # parked, then resumed by the re-probe (app.info works again)
    assert set((await bridge.statuses()).values()) == {MessageStatus.DELIVERED}
    async with bridge.database.transaction() as session:
        codes = list(await session.scalars(select(PortalError.code)))
    assert "auth_revoked" in codes
    assert bridge.calls("app.info")
