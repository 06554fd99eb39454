"""The live WebSocket (protocol §7): first-frame auth, origin, backlog after a seq, live events, heartbeat,
close codes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import pytest
from tests.protocol.conftest import SHOP, Bridge
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from openline_bridge.store.conversation_events import append_event

WAIT = 5.0


async def _frame(socket: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(WAIT):
        frame: dict[str, Any] = json.loads(await socket.recv())
    return frame


async def _closed_with(socket: ClientConnection) -> tuple[int | None, list[dict[str, Any]]]:
    """Read until the server closes; the close code and the frames received before it."""
    frames = []
    try:
        async with asyncio.timeout(WAIT):
            while True:
                frames.append(json.loads(await socket.recv()))
    except ConnectionClosed as closed:
        return (closed.rcvd.code if closed.rcvd else None), frames


def _live(bridge: Bridge, origin: str | None = SHOP) -> Any:
    return connect(bridge.live_url, origin=Origin(origin) if origin else None, open_timeout=WAIT)


async def _auth(socket: ClientConnection, token: str, after: int = 0) -> None:
    await socket.send(json.dumps({"type": "auth", "token": token, "after": after}))


async def test_resume_after_a_seq_then_live_events_in_order(bridge: Bridge) -> None:
    anna, boris = await bridge.visitor(), await bridge.visitor()
    for n in range(3):
        assert (await anna.send(f"m{n}", f"c-{n}")).status_code == 201
    async with _live(bridge) as socket:
        await _auth(socket, anna.token, after=1)
        assert await _frame(socket) == {"type": "ready", "last_seq": 3, "heartbeat_interval": 25}
        backlog = [await _frame(socket) for _ in range(2)]
        assert [(f["type"], f["event"]["seq"]) for f in backlog] == [("event", 2), ("event", 3)]
        assert backlog[1]["event"]["payload"]["message"]["text"] == "m2"

        assert (await boris.send("not for anna", "b-1")).status_code == 201  # another conversation
        assert (await anna.send("live one", "c-live")).status_code == 201
        live = await _frame(socket)
        assert (live["event"]["seq"], live["event"]["kind"]) == (4, "message.created")
        assert live["event"]["payload"]["message"]["text"] == "live one"

        _, seq = await bridge.operator_reply(anna.conversation_id, "Operator here", 700)
        reply = await _frame(socket)
        assert reply["event"]["seq"] == seq == 5
        assert reply["event"]["payload"]["message"]["direction"] == "operator"

        await socket.send(json.dumps({"type": "ping"}))
        assert await _frame(socket) == {"type": "pong"}
        await socket.send(json.dumps({"type": "something-new"}))  # ignored
        await socket.send("not json")  # ignored
        assert (await anna.request("POST", "read", json={"seq": 5})).status_code == 200
        kinds = [(await _frame(socket))["event"]["kind"] for _ in range(2)]
        assert kinds == ["message.status", "conversation.read"]


async def test_gap_left_by_the_fan_out_is_filled_from_the_log(bridge: Bridge) -> None:
    anna = await bridge.visitor()
    async with _live(bridge) as socket:
        await _auth(socket, anna.token)
        assert (await _frame(socket))["type"] == "ready"
        # two events stored without being published: the next published one reveals the gap
        relay = bridge.relay
        async with relay.database.transaction() as session:
            for _ in range(2):
                await append_event(session, int(anna.conversation_id), "session.opened", {})
        assert (await anna.send("after the gap", "c-gap")).status_code == 201
        seqs = [(await _frame(socket))["event"]["seq"] for _ in range(3)]
        assert seqs == [1, 2, 3]


@pytest.mark.parametrize(
    ("first_frame", "close_code", "error_code"),
    [
        ({"type": "hello"}, 4400, "protocol_error"),
        ({"type": "auth", "after": 0}, 4400, "protocol_error"),
        ({"type": "auth", "token": "t", "after": -1}, 4400, "protocol_error"),
        ({"type": "auth", "token": "olv1_unknown", "after": 0}, 4401, "invalid_token"),
    ],
)
async def test_bad_auth_frames_close_with_their_code(
    bridge: Bridge, first_frame: dict[str, Any], close_code: int, error_code: str
) -> None:
    async with _live(bridge) as socket:
        await socket.send(json.dumps(first_frame))
        code, frames = await _closed_with(socket)
    assert code == close_code
    assert frames == [
        {"type": "error", "error": {"code": error_code, "message": frames[0]["error"]["message"]}}
    ]


async def test_wrong_origin_and_connection_cap(bridge: Bridge) -> None:
    anna = await bridge.visitor()
    async with _live(bridge, origin="https://evil.example") as socket:
        await _auth(socket, anna.token)
        code, frames = await _closed_with(socket)
    assert (code, frames[0]["error"]["code"]) == (4403, "forbidden_origin")

    bridge.api.limits = dataclasses.replace(bridge.api.limits, live_connections=1)
    async with _live(bridge) as first, _live(bridge, origin=None) as second:
        await _auth(first, anna.token)
        assert (await _frame(first))["type"] == "ready"
        await _auth(second, anna.token)
        code, frames = await _closed_with(second)
        assert (code, frames[0]["error"]["code"]) == (4429, "rate_limited")
    async with _live(bridge) as again:  # the slot is free once the first connection closed
        await _auth(again, anna.token)
        assert (await _frame(again))["type"] == "ready"


async def test_timeouts_heartbeat_and_oversized_frames(bridge: Bridge) -> None:
    anna = await bridge.visitor()
    bridge.api.auth_timeout_seconds = 0.3
    async with _live(bridge) as silent:
        code, _ = await _closed_with(silent)
    assert code == 4408

    bridge.api.heartbeat_seconds = 0.3
    async with _live(bridge) as quiet:
        await _auth(quiet, anna.token)
        code, frames = await _closed_with(quiet)  # never answers the pings
    assert code == 4408
    assert {"type": "ping"} in frames

    async with _live(bridge) as chatty:
        await _auth(chatty, anna.token)
        assert (await _frame(chatty))["type"] == "ready"
        await chatty.send(json.dumps({"type": "pong", "padding": "x" * 5000}))
        code, _ = await _closed_with(chatty)
    assert code == 1009
