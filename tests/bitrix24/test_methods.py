"""Typed REST methods against the real sandbox: parameters it accepts, results as the bridge reads them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.bitrix24.sandbox_peer import (
    CountingTransport,
    InMemoryTokenStore,
    SandboxProcess,
    install_test_app,
    lookup_secret,
    tokens_from_install,
)

from openline_bridge.bitrix24 import methods
from openline_bridge.bitrix24.client import Bitrix24Client, PortalCaller, RestResponse
from openline_bridge.bitrix24.errors import LineInactiveError, PermanentError
from openline_bridge.bitrix24.ratelimit import Unlimited

CONNECTOR = "h4_webchat"
REGISTRATION = methods.ConnectorRegistration(
    connector_id=CONNECTOR,
    name="Website chat",
    icon_data_image="data:image/svg+xml,%3Csvg%20xmlns%3D%22http://www.w3.org/2000/svg%22/%3E",
    placement_handler="http://127.0.0.1:9/b24/placement",
    icon_color="#1f6feb",
    need_signature=True,
    chat_group=False,
)


@pytest.fixture
async def caller(sandbox: SandboxProcess) -> AsyncIterator[PortalCaller]:
    tokens = tokens_from_install(install_test_app(sandbox))
    client = Bitrix24Client(
        InMemoryTokenStore(tokens), lookup_secret, Unlimited(), transport=CountingTransport()
    )
    try:
        yield client.for_portal(tokens.member_id)
    finally:
        await client.aclose()


async def first_line(caller: PortalCaller) -> int:
    lines = await methods.open_lines(caller)
    assert lines, "the sandbox portal has no open line"
    return lines[0].line


async def test_connector_lifecycle(caller: PortalCaller) -> None:
    await methods.register(caller, REGISTRATION)
    await methods.register(caller, REGISTRATION)  # contract §8.1: re-register updates
    line = await first_line(caller)
    before = await methods.status(caller, CONNECTOR, line)
    assert (before.configured, before.status) == (False, False)
    assert await methods.activate(caller, CONNECTOR, line, active=True) is True
    await methods.connector_data_set(
        caller, CONNECTOR, line, methods.ConnectorData("site-1", url="https://example.com", name="Example")
    )
    after = await methods.status(caller, CONNECTOR, line)
    assert (after.line, after.connector_id, after.configured, after.status, after.error) == (
        line,
        CONNECTOR,
        True,
        True,
        False,
    )
    await methods.activate(caller, CONNECTOR, line, active=False)
    assert (await methods.status(caller, CONNECTOR, line)).status is False


async def test_register_failure_is_an_error(caller: PortalCaller) -> None:
    with pytest.raises(PermanentError):
        await caller.call("imconnector.register", {"ID": CONNECTOR, "NAME": "x"})  # no ICON, no handler


async def test_messages_round_trip(caller: PortalCaller) -> None:
    await methods.register(caller, REGISTRATION)
    line = await first_line(caller)
    visitor = methods.Visitor("visitor-42", name="Ivan", last_name="Petrov", email="ivan@example.com")
    message = methods.OutgoingMessage(
        visitor=visitor,
        external_chat_id="conv-1",
        external_message_id="m-1",
        text="Hello [b]there[/b]",
        sent_at=1773265993,
        chat_url="https://example.com/chat/1",
    )
    with pytest.raises(LineInactiveError):
        await methods.send_messages(caller, CONNECTOR, line, [message])
    await methods.activate(caller, CONNECTOR, line, active=True)
    second = methods.OutgoingMessage(
        visitor=visitor, external_chat_id="conv-1", external_message_id="m-2", text="?"
    )
    outcomes = await methods.send_messages(caller, CONNECTOR, line, [message, second])
    assert [outcome.success for outcome in outcomes] == [True, True]
    assert outcomes[0].customer_bitrix_user_id is not None
    assert outcomes[0].bitrix_chat_id is not None
    assert outcomes[0].bitrix_session_id is not None
    edited = methods.OutgoingMessage(
        visitor=visitor, external_chat_id="conv-1", external_message_id="m-1", text="Hi"
    )
    assert [o.success for o in await methods.update_messages(caller, CONNECTOR, line, [edited])] == [True]
    deleted = await methods.delete_messages(
        caller, CONNECTOR, line, [methods.DeletedRef("visitor-42", "conv-1", "m-2")]
    )
    assert [o.success for o in deleted] == [True]
    chat, session = int(outcomes[0].bitrix_chat_id), int(outcomes[0].bitrix_session_id)
    # the deleted message keeps its connector id in the history; an unknown session is refused
    assert await methods.session_connector_ids(caller, chat, session) == {"m-1", "m-2"}
    with pytest.raises(PermanentError):
        await methods.session_connector_ids(caller, chat, session + 1000)
    await methods.chat_name_set(
        caller,
        CONNECTOR,
        line,
        external_chat_id="conv-1",
        name="Ivan from the website",
        external_user_id="visitor-42",
    )


async def test_per_message_failure_is_reported_not_raised(caller: PortalCaller) -> None:
    await methods.register(caller, REGISTRATION)
    line = await first_line(caller)
    await methods.activate(caller, CONNECTOR, line, active=True)
    empty = methods.OutgoingMessage(
        visitor=methods.Visitor("visitor-1"), external_chat_id="conv-2", external_message_id="m-3"
    )  # neither text nor files (contract §8.7 step 4)
    good = methods.OutgoingMessage(
        visitor=methods.Visitor("visitor-1"), external_chat_id="conv-2", external_message_id="m-4", text="ok"
    )
    outcomes = await methods.send_messages(caller, CONNECTOR, line, [empty, good])
    assert outcomes[0].success is False
    assert outcomes[0].errors
    assert outcomes[1].success is True


async def test_receipts(caller: PortalCaller) -> None:
    await methods.register(caller, REGISTRATION)
    line = await first_line(caller)
    receipt = methods.DeliveryReceipt(1, 1, "conv-1", ["ext-out-1"], delivered_at=1773265993)
    # contract §8.10: no line-status check, fake ids accepted
    await methods.send_status_delivery(caller, CONNECTOR, line, [receipt])
    await methods.send_status_reading(caller, CONNECTOR, line, [receipt])


async def test_event_bindings(caller: PortalCaller) -> None:
    handler = "http://127.0.0.1:9/b24/events"
    await methods.event_bind(caller, "OnImConnectorMessageAdd", handler)
    await methods.event_bind(caller, "OnImConnectorDialogStart", handler)
    bound = await methods.event_get(caller)
    assert {(b.event, b.handler) for b in bound} >= {
        ("ONIMCONNECTORMESSAGEADD", handler),
        ("ONIMCONNECTORDIALOGSTART", handler),
    }
    with pytest.raises(PermanentError):
        await methods.event_bind(caller, "OnImConnectorMessageAdd", handler)  # already bound
    assert await methods.event_unbind(caller, "OnImConnectorMessageAdd", handler) == 1
    assert "ONIMCONNECTORMESSAGEADD" not in {b.event for b in await methods.event_get(caller)}


async def test_app_info(caller: PortalCaller) -> None:
    info = await methods.app_info(caller)
    assert info.installed is True
    assert info.payment_expired is False


def test_connector_id_rules() -> None:
    with pytest.raises(ValueError):
        methods.ConnectorRegistration("my.conn", "x", "data:", "http://h/p")
    with pytest.raises(ValueError):
        methods.ConnectorRegistration("MyConn", "x", "data:", "http://h/p")


class RecordingCaller:
    """Records what a method function sends (the sandbox tests show what a portal makes of it)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    async def call(self, method: str, params: Any = None, *, timeouts: Any = None) -> RestResponse:
        self.sent.append((method, params))
        return RestResponse({"result": True})


async def test_flags_are_spelled_as_the_contract_advises() -> None:
    recorder = RecordingCaller()
    await methods.activate(recorder, CONNECTOR, 3, active=False)
    await methods.register(recorder, REGISTRATION)
    activate_params, register_params = recorder.sent[0][1], recorder.sent[1][1]
    assert activate_params["ACTIVE"] == 0  # contract §8.3/§14.17: "N" would activate
    assert (register_params["NEED_SIGNATURE"], register_params["CHAT_GROUP"]) == ("Y", "N")  # §8.1
    assert "NEWSLETTER" not in register_params  # unset flags keep the portal's default


def test_receipt_params() -> None:
    receipt = methods.DeliveryReceipt(5, 6, "c", ["a"], delivered_at=7)
    assert receipt.as_param(with_date=True)["message"] == {"id": ["a"], "date": 7}
    assert receipt.as_param(with_date=False)["message"] == {"id": ["a"]}  # P19: id list even for one


class AnsweringCaller:
    """Answers every call with one fixed result, as a portal might shape it."""

    def __init__(self, result: Any) -> None:
        self.result = result

    async def call(self, method: str, params: Any = None, *, timeouts: Any = None) -> RestResponse:
        return RestResponse(self.result)


async def test_session_history_shapes() -> None:
    result = {
        "message": {
            "9": {"id": "9", "params": []},  # PHP's empty array
            "10": {"id": "10", "params": {"connectorMid": ["m-1"]}},
            "11": {"id": "11", "params": {"CONNECTOR_MID": ["m-2", "m-3"]}},
            "12": {"id": "12", "params": {"connectorMid": "m-4"}},
            "13": "not a message",
        }
    }
    assert await methods.session_connector_ids(AnsweringCaller(result), 1, 2) == {"m-1", "m-2", "m-3", "m-4"}
    assert await methods.session_connector_ids(AnsweringCaller({"message": []}), 1, 2) == set()
    with pytest.raises(PermanentError):
        await methods.session_connector_ids(AnsweringCaller(None), 1, 2)
