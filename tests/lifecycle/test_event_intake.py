"""``POST /b24/events``: forged and malformed events are refused with a code and leave no trace; a genuine
one is recorded once, without credentials, and answered at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, text
from tests.lifecycle.bridge_peer import RunningBridge, event_body, inbox_count, php_form, wait_for
from tests.lifecycle.fixtures import Installed

from openline_bridge.store.database import Database
from openline_bridge.store.models import InboxEvent, InboxStatus

MESSAGE_DATA = {
    "CONNECTOR": "openline_bridge",
    "LINE": "1",
    "MESSAGES": [
        {
            "im": {"chat_id": "1807", "message_id": "86497"},
            "message": {"user_id": "27", "text": "[b]Klaus:[/b][br] Guten Tag!"},
            "chat": {"id": "channel-123"},
        }
    ],
}


def _cases(installed: Installed) -> dict[str, tuple[bytes, int, str]]:
    answer = installed.answer
    return {
        "wrong application_token": (
            event_body(answer, "ONIMCONNECTORMESSAGEADD", MESSAGE_DATA, application_token="0" * 32).encode(),
            401,
            "invalid_application_token",
        ),
        "unknown member_id": (
            event_body(answer, "ONIMCONNECTORMESSAGEADD", MESSAGE_DATA, member_id="f" * 32).encode(),
            401,
            "unknown_portal",
        ),
        "missing member_id": (
            php_form(
                {"event": "ONIMCONNECTORMESSAGEADD", "ts": "1", "data": MESSAGE_DATA, "auth": {"domain": "x"}}
            ).encode(),
            400,
            "malformed_event",
        ),
        "missing messages": (
            event_body(
                answer, "ONIMCONNECTORMESSAGEADD", {"CONNECTOR": "openline_bridge", "LINE": "1"}
            ).encode(),
            400,
            "malformed_event",
        ),
        "garbage": (b"\xff\xfe[[[=&&a]=", 400, "malformed_event"),
        "no event at all": (b"", 400, "malformed_event"),
        "over 1 MiB": (
            event_body(
                answer, "ONIMCONNECTORMESSAGEADD", {**MESSAGE_DATA, "PAD": "x" * (1024 * 1024)}
            ).encode(),
            413,
            "payload_too_large",
        ),
    }


CASES = [
    "wrong application_token",
    "unknown member_id",
    "missing member_id",
    "missing messages",
    "garbage",
    "no event at all",
    "over 1 MiB",
]


@pytest.mark.parametrize("case", CASES)
async def test_refused_event_has_a_code_and_stores_nothing(
    case: str, bridge: RunningBridge, installed: Installed, database: Database
) -> None:
    body, status, code = _cases(installed)[case]
    response = await bridge.http.post(
        "/b24/events", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert "Traceback" not in response.text
    assert await inbox_count(database) == 0


async def test_oversized_chunked_body_is_refused_while_streaming(
    bridge: RunningBridge, installed: Installed, database: Database
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield event_body(installed.answer, "ONIMCONNECTORMESSAGEADD", MESSAGE_DATA).encode()
        for _ in range(20):
            yield b"&pad=" + b"y" * 65536

    response = await bridge.http.post(
        "/b24/events", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert await inbox_count(database) == 0


async def test_genuine_event_is_recorded_once_without_credentials_and_processed(
    bridge: RunningBridge, installed: Installed, database: Database
) -> None:
    body = event_body(
        installed.answer,
        "ONIMCONNECTORMESSAGEADD",
        MESSAGE_DATA,
        access_token="user-access-token-1",
        user_id="27",
    )
    first = await bridge.http.post(
        "/b24/events", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    second = await bridge.http.post(
        "/b24/events", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert (first.status_code, first.json()) == (200, {"result": "accepted"})
    assert (second.status_code, second.json()) == (200, {"result": "duplicate"})
    assert await inbox_count(database) == 1
    # The lifecycle processor and the messaging engine each take their own events from the inbox.
    line_delete = event_body(installed.answer, "ONIMCONNECTORLINEDELETE", "42")
    assert (
        await bridge.http.post(
            "/b24/events", content=line_delete, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
    ).status_code == 200

    async def statuses() -> dict[str, InboxStatus] | None:
        async with database.transaction() as session:
            rows = (await session.scalars(select(InboxEvent))).all()
        found = {row.event_name: row.status for row in rows}
        settled = set(found.values()) == {InboxStatus.PROCESSED} and len(found) == 2
        return found if settled else None

    assert await wait_for(statuses) == {
        "ONIMCONNECTORMESSAGEADD": InboxStatus.PROCESSED,
        "ONIMCONNECTORLINEDELETE": InboxStatus.PROCESSED,
    }
    async with database.transaction() as session:
        stored = await session.scalar(
            select(InboxEvent).where(InboxEvent.event_name == "ONIMCONNECTORMESSAGEADD")
        )
    assert stored is not None
    assert "access_token" not in stored.payload["auth"]
    assert installed.answer["application_token"] not in str(stored.payload)
    assert stored.payload["data"]["MESSAGES"][0]["im"]["message_id"] == "86497"


async def test_error_envelope_health_and_schema(bridge: RunningBridge, installed: Installed) -> None:
    missing = await bridge.http.get("/nowhere")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "Not Found"}}
    wrong_method = await bridge.http.get("/b24/events")
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    assert (await bridge.http.get("/healthz")).json() == {"status": "ok"}
    ready = await bridge.http.get("/readyz")
    assert ready.status_code == 200
    assert [portal["member_id"] for portal in ready.json()["portals"]] == [installed.answer["member_id"]]
    schema = (await bridge.http.get("/openapi.json")).json()
    assert {"/b24/events", "/b24/install", "/healthz", "/readyz"} <= set(schema["paths"])


async def test_concurrent_copies_of_one_event_are_recorded_once(
    bridge: RunningBridge, installed: Installed, database: Database
) -> None:
    # Arriving together, the copies share one group-commit transaction (or a few): one is accepted.
    body = event_body(installed.answer, "ONIMCONNECTORMESSAGEADD", MESSAGE_DATA)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    other = event_body(installed.answer, "ONIMCONNECTORMESSAGEADD", MESSAGE_DATA, member_id="e" * 32)
    forged = event_body(installed.answer, "ONIMCONNECTORMESSAGEADD", MESSAGE_DATA, application_token="1" * 32)
    answers = await asyncio.gather(
        *(bridge.http.post("/b24/events", content=body, headers=headers) for _ in range(20)),
        bridge.http.post("/b24/events", content=other, headers=headers),
        bridge.http.post("/b24/events", content=forged, headers=headers),
    )
    results = [answer.json().get("result") for answer in answers[:20]]
    assert sorted(results) == ["accepted"] + ["duplicate"] * 19
    assert answers[20].json()["error"]["code"] == "unknown_portal"
    assert answers[21].json()["error"]["code"] == "invalid_application_token"
    assert await inbox_count(database) == 1


async def test_database_failure_makes_readyz_and_intake_answer_503(
    bridge: RunningBridge, installed: Installed, database: Database
) -> None:
    async with database.transaction() as session:
        await session.execute(text("ALTER TABLE portals RENAME TO portals_away"))
    try:
        ready = await bridge.http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["error"]["code"] == "not_ready"
        body = event_body(installed.answer, "ONIMCONNECTORMESSAGEADD", MESSAGE_DATA)
        refused = await bridge.http.post(
            "/b24/events", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "unavailable"
    finally:
        async with database.transaction() as session:
            await session.execute(text("ALTER TABLE portals_away RENAME TO portals"))
    assert (await bridge.http.get("/readyz")).status_code == 200
    assert await inbox_count(database) == 0
