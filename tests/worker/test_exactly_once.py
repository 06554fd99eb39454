"""Exactly once across lost answers and dead dispatchers: a send call whose answer was never recorded is
checked against the chat's session history before anything is sent again (docs/worker.md "Exactly once").
"""

from __future__ import annotations

from datetime import timedelta

from tests.bitrix24.sandbox_peer import lookup_secret
from tests.worker.peer import CONNECTOR, FAST, Bridge, wait_until

from openline_bridge.bitrix24 import methods
from openline_bridge.bitrix24.client import Bitrix24Client, Timeouts
from openline_bridge.store import leases, outbox
from openline_bridge.store.tokens import DatabaseTokenStore
from openline_bridge.store.types import utc_now
from openline_bridge.worker.handlers.outgoing import outgoing_message
from openline_bridge.worker.loading import load_messages
from openline_bridge.worker.runner import Worker

HISTORY = "imopenlines.session.history.get"
SEND = "imconnector.send.messages"
DEAD = "a-dispatcher-that-died"


def _history_reads(bridge: Bridge) -> int:
    return len(bridge.sandbox.control("GET", f"/calls?limit=10000&method={HISTORY}")["calls"])


async def _delivered(bridge: Bridge, conversation: int, first: str) -> None:
    await bridge.post(conversation, first)
    async with bridge.running():
        await wait_until(bridge.all_settled)


async def _die_mid_call(bridge: Bridge, *, deliver: int) -> None:
    """What a process killed in the middle of a send call leaves behind: the portal's lease and every due
    job claimed and marked as possibly sent, the first ``deliver`` of them taken by Bitrix24, nothing
    recorded about the answer."""
    now = utc_now()
    async with bridge.database.transaction() as session:
        assert await leases.claim(session, bridge.portal_id, DEAD, now, timedelta(seconds=1))
        jobs = await outbox.claim_due(session, bridge.portal_id, DEAD, now, runs=True)
        await outbox.mark_maybe_sent(session, [job.id for job in jobs], DEAD, now)
        contexts = await load_messages(session, [job.payload["message_id"] for job in jobs])
    taken = [
        outgoing_message(contexts[job.payload["message_id"]], bridge.relay.signer) for job in jobs[:deliver]
    ]
    if taken:
        caller = bridge.client().for_portal(bridge.member_id)
        results = await methods.send_messages(caller, CONNECTOR, bridge.bitrix_line_id, taken)
        assert all(result.success for result in results)


async def test_a_lost_answer_is_looked_up_not_sent_again(bridge: Bridge) -> None:
    conversation = await bridge.new_conversation("Anna")
    await _delivered(bridge, conversation, "first")
    # the portal takes the next call but answers too late for the bridge's read timeout
    hold = {"method": SEND, "when": "after", "seconds": 1.5, "count": 1}
    bridge.sandbox.control("PUT", "/faults", {"holds": [hold]})
    for text in ("second", "third"):
        await bridge.post(conversation, text)
    impatient = Bitrix24Client(
        DatabaseTokenStore(bridge.database, bridge.box),
        lookup_secret,
        bridge.limiter,
        timeouts=Timeouts(read=0.5),
    )
    bridge.clients.append(impatient)
    worker = Worker(
        database=bridge.database,
        client=impatient,
        notifier=bridge.relay.notifier,
        signer=bridge.relay.signer,
        config=FAST,
    )
    async with bridge.running(worker):
        await wait_until(bridge.all_settled)
    assert list(bridge.chat_texts().values()) == [["first", "second", "third"]]
    assert _history_reads(bridge) >= 1  # one, or more when a read itself outlasts the short timeout

    async def held_call_logged() -> bool:  # the sandbox logs a call when its answer has left
        return len(bridge.calls(SEND)) >= 2

    await wait_until(held_call_logged, within=5)
    assert len(bridge.calls(SEND)) == 2  # "first", then the call whose answer was lost: never a third


async def test_a_server_failure_after_the_work_is_looked_up_not_sent_again(bridge: Bridge) -> None:
    conversation = await bridge.new_conversation("Dana")
    await _delivered(bridge, conversation, "first")
    # the portal stores the messages, then fails the call: a 500 cannot say whether the work was done
    failure = {"method": SEND, "when": "after", "count": 1, "status": 500, "error": "INTERNAL_SERVER_ERROR"}
    bridge.sandbox.control("PUT", "/faults", {"errors": [failure]})
    for text in ("second", "third"):
        await bridge.post(conversation, text)
    async with bridge.running():
        await wait_until(bridge.all_settled)
    assert list(bridge.chat_texts().values()) == [["first", "second", "third"]]
    assert _history_reads(bridge) == 1


async def test_a_dead_dispatchers_call_is_reconciled_at_once(bridge: Bridge) -> None:
    conversation = await bridge.new_conversation("Boris")
    await _delivered(bridge, conversation, "first")
    for text in ("m1", "m2", "m3", "m4"):
        await bridge.post(conversation, text)
    await _die_mid_call(bridge, deliver=2)

    async with bridge.running():
        # the dead owner's locks last two minutes; the next lease owner takes its jobs over at once
        await wait_until(bridge.all_settled, within=15)
    assert list(bridge.chat_texts().values()) == [["first", "m1", "m2", "m3", "m4"]]
    assert _history_reads(bridge) == 1
    assert all(job.maybe_sent_at is None for job in await bridge.jobs())


async def test_many_conversations_are_checked_in_one_batch(bridge: Bridge) -> None:
    conversations = [await bridge.new_conversation(f"Visitor {i}") for i in range(3)]
    for index, conversation in enumerate(conversations):
        await _delivered(bridge, conversation, f"hello {index}")
    for index, conversation in enumerate(conversations):
        await bridge.post(conversation, f"again {index}")
    await _die_mid_call(bridge, deliver=1)

    async with bridge.running():
        await wait_until(bridge.all_settled, within=15)
    arrived = await bridge.arrived(conversations)
    assert [arrived[c] for c in conversations] == [[f"hello {i}", f"again {i}"] for i in range(3)]
    assert _history_reads(bridge) == 3
    assert len(bridge.calls("batch")) == 1  # the three reads went out as one REST request


async def test_without_a_known_chat_the_message_is_sent_rather_than_lost(bridge: Bridge) -> None:
    conversation = await bridge.new_conversation("Clara")
    await bridge.post(conversation, "hello")
    await _die_mid_call(bridge, deliver=0)

    async with bridge.running():
        await wait_until(bridge.all_settled, within=15)
    assert list(bridge.chat_texts().values()) == [["hello"]]
    assert _history_reads(bridge) == 0  # nothing to look in: the first call of a chat is sent again
