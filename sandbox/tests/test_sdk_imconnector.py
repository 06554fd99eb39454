"""Every `imconnector.*` wrapper of the official SDK against the sandbox over HTTPS (contract §8, §13),
and the `imopenlines.config.*` wrappers a connector uses to find its line.

Each test calls the SDK's own method object (`client.imconnector...`), checks the `result` the SDK
hands back against the contract section, and checks the effect in the sandbox's control API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from b24pysdk.credentials import OAuthEventData
from b24pysdk.errors import BitrixAPIBadRequest, BitrixAPIError
from sandbox.tests.sdk_support import (
    CONNECTOR,
    ICON,
    SdkPortal,
    customer_message,
    portal_fixture,  # noqa: F401  (the `portal` fixture)
)

if TYPE_CHECKING:
    from sandbox.tests.conftest import EventReceiver


@pytest.fixture
def line(portal: SdkPortal) -> int:
    """A line with the SDK app's connector registered and activated on it."""
    line_id = portal.new_line()
    portal.connect(line_id)
    return line_id


def test_register_answers_a_nested_dict_and_reads_the_sdk_flags(portal: SdkPortal) -> None:
    handler = f"{portal.handler_url}/settings"
    answer = portal.client.imconnector.register(
        CONNECTOR, "SDK connector", ICON, handler, chat_group=False, need_signature=False
    )
    # contract §8.1: `result` is an object (the SDK's own integration test asserts a dict)
    assert answer.result == {"result": True}
    assert "duration" in answer.response.time.to_dict()
    connectors = portal.control.get("/_sandbox/connectors").json()["connectors"]
    [registered] = [c for c in connectors if c["id"] == CONNECTOR]
    # contract §8.1: the SDK sends flags as "Y"/"N" strings
    assert registered["flags"]["NEED_SIGNATURE"] is False
    assert registered["flags"]["CHAT_GROUP"] is False
    assert registered["placement_handler"] == handler


@pytest.mark.parametrize("shape", ["source", "docs"])
def test_register_failure_in_both_shapes(portal: SdkPortal, shape: str) -> None:
    portal.ok("faults", {"variants": {"register_failure_shape": shape}}, verb="PUT")
    call = portal.client.imconnector.register(
        CONNECTOR, "SDK connector", {"COLOR": "#000"}, "https://x.test/"
    )
    if shape == "source":
        # contract §14 #1 / §13: a top-level `error` in an HTTP 200 body is an error for the SDK
        with pytest.raises(BitrixAPIError) as caught:
            call.call()
        assert caught.value.error == "ICON_REQUIRED"
    else:
        # the docs' nested form passes the SDK as a normal result: clients must look inside
        assert call.result["result"] is False
        assert call.result["error"] == "ICON_REQUIRED"


def test_unregister_removes_the_connector(portal: SdkPortal, line: int) -> None:
    imc = portal.client.imconnector
    assert imc.unregister(bitrix_id=CONNECTOR).result == {"result": True}  # contract §8.2
    assert CONNECTOR not in imc.list().result
    assert imc.status(CONNECTOR, line=line).result["STATUS"] is False


def test_unregister_of_a_never_activated_connector_fails(portal: SdkPortal) -> None:
    imc = portal.client.imconnector
    portal.register()
    # contract §8.2 source quirk (§14 #15): no status row → APPLICATION_UNREGISTRATION_ERROR
    with pytest.raises(BitrixAPIError) as caught:
        imc.unregister(bitrix_id=CONNECTOR).call()
    assert caught.value.error == "APPLICATION_UNREGISTRATION_ERROR"


def test_activate_and_status(portal: SdkPortal) -> None:
    imc = portal.client.imconnector
    line = portal.new_line()
    portal.register()
    before = imc.status(CONNECTOR, line=line).result
    # contract §8.4: LINE an int, the predicates booleans
    assert before == {
        "LINE": line,
        "CONNECTOR": CONNECTOR,
        "ERROR": False,
        "CONFIGURED": False,
        "STATUS": False,
    }
    assert imc.activate(CONNECTOR, line, True).result is True  # the SDK sends ACTIVE=1
    after = imc.status(CONNECTOR, line=line).result
    assert (after["CONFIGURED"], after["STATUS"]) == (True, True)
    assert imc.activate(CONNECTOR, line, False).result is True  # contract §8.3: row deleted
    assert imc.status(CONNECTOR, line=line).result["STATUS"] is False


def test_connector_data_set(portal: SdkPortal, line: int) -> None:
    data = {
        "ID": "channel-7",
        "URL": "https://example.com/c/7",
        "URL_IM": "https://example.com/c/7",
        "NAME": "Web",
    }
    assert portal.client.imconnector.connector.data.set(CONNECTOR, line, data).result is True  # contract §8.5
    statuses = portal.control.get("/_sandbox/connectors").json()["statuses"]
    [row] = [s for s in statuses if s["connector"] == CONNECTOR and s["line"] == line]
    assert "channel-7" in row["data"].values()
    assert "Web" in row["data"].values()


def test_list_maps_ids_to_names(portal: SdkPortal, line: int) -> None:
    listed = portal.client.imconnector.list().result
    # contract §8.6: an object id → name, built-in connectors included
    assert listed[CONNECTOR] == "SDK connector"
    assert len(listed) > 1
    assert all(isinstance(name, str) for name in listed.values())


def test_send_messages(portal: SdkPortal, line: int) -> None:
    element = customer_message("Good afternoon", "ext-1")
    element["message"]["date"] = 1773265993
    answer = portal.client.imconnector.send.messages(CONNECTOR, line, [element]).result
    # contract §8.7: per-message SUCCESS, ids as strings, the date object serialized as {}
    assert answer["SUCCESS"] is True
    [sent] = answer["DATA"]["RESULT"]
    assert sent["SUCCESS"] is True
    assert sent["user"].isdigit()
    assert sent["session"]["CHAT_ID"].isdigit()
    assert sent["session"]["ID"].isdigit()
    assert sent["message"]["date"] == {}
    conversation = portal.conversation("chat-1")
    assert conversation["bitrix_chat_id"] == int(sent["session"]["CHAT_ID"])
    assert [m["text"] for m in conversation["messages"]] == ["Good afternoon"]


def test_send_messages_on_an_inactive_line_is_an_sdk_error(portal: SdkPortal) -> None:
    line = portal.new_line()
    portal.register()
    with pytest.raises(BitrixAPIBadRequest) as caught:
        portal.client.imconnector.send.messages(CONNECTOR, line, [customer_message("hi", "m")]).call()
    assert caught.value.error == "NOT_ACTIVE_LINE"  # contract §8.7 step 3, HTTP 400


def test_update_messages(portal: SdkPortal, line: int) -> None:
    imc = portal.client.imconnector
    imc.send.messages(CONNECTOR, line, [customer_message("Helo", "ext-2")]).call()
    answer = imc.update.messages(CONNECTOR, line, [customer_message("Hello", "ext-2")]).result
    assert answer["SUCCESS"] is True  # contract §8.8
    assert answer["DATA"]["RESULT"][0]["SUCCESS"] is True
    [message] = portal.conversation("chat-1")["messages"]
    assert message["text"] == "Hello"
    assert message["edited"] is True


def test_delete_messages(portal: SdkPortal, line: int) -> None:
    imc = portal.client.imconnector
    imc.send.messages(CONNECTOR, line, [customer_message("Oops", "ext-3")]).call()
    gone = {"user": {"id": "u-1"}, "message": {"id": "ext-3"}, "chat": {"id": "chat-1"}}
    answer = imc.delete.messages(CONNECTOR, line, [gone]).result
    assert answer["SUCCESS"] is True  # contract §8.9
    assert answer["DATA"]["RESULT"][0]["SUCCESS"] is True
    [message] = portal.conversation("chat-1")["messages"]
    assert message["deleted"] is True


def _operator_reply(portal: SdkPortal, receiver: EventReceiver, line: int) -> dict[str, str]:
    """Bind MessageAdd, let the operator answer, return the `im` block the SDK parsed from the event."""
    assert portal.client.event.bind("OnImConnectorMessageAdd", portal.handler_url).result is True
    portal.client.imconnector.send.messages(CONNECTOR, line, [customer_message("Hi", "ext-4")]).call()
    portal.ok(
        "operator/messages", {"line": line, "chat_id": "chat-1", "connector": CONNECTOR, "text": "Hello!"}
    )
    [received] = receiver.wait_event("ONIMCONNECTORMESSAGEADD")
    event = OAuthEventData.from_dict(received.form)  # the SDK's own event parser
    assert event.data is not None
    im: dict[str, str] = event.data["MESSAGES"][0]["im"]
    return im


def test_send_status_delivery_links_the_external_id(
    portal: SdkPortal, receiver: EventReceiver, line: int
) -> None:
    im = _operator_reply(portal, receiver, line)
    delivered = {"im": im, "message": {"id": ["out-1"]}, "chat": {"id": "chat-1"}}
    answer = portal.client.imconnector.send.status.delivery(CONNECTOR, line, [delivered]).result
    assert answer == {"SUCCESS": True, "DATA": []}  # contract §8.10
    messages = portal.conversation("chat-1")["messages"]
    [reply] = [m for m in messages if m["bitrix_message_id"] == int(im["message_id"])]
    assert reply["delivered"] is True
    assert reply["connector_mid"] == ["out-1"]


def test_send_status_reading(portal: SdkPortal, receiver: EventReceiver, line: int) -> None:
    im = _operator_reply(portal, receiver, line)
    read = {"im": im, "message": {"id": ["out-1"]}, "chat": {"id": "chat-1"}}
    answer = portal.client.imconnector.send.status.reading(CONNECTOR, line, [read]).result
    assert answer == {"SUCCESS": True, "DATA": []}  # contract §8.11: accepted, no effect


def test_chat_name_set(portal: SdkPortal, line: int) -> None:
    imc = portal.client.imconnector
    imc.send.messages(CONNECTOR, line, [customer_message("Hi", "ext-5")]).call()
    answer = imc.chat.name.set(CONNECTOR, line, "chat-1", "Order 42", user_id="u-1").result
    assert answer == {"SUCCESS": True, "DATA": {"RESULT": {}}}  # contract §8.12
    assert portal.conversation("chat-1")["title"] == "Order 42"


def test_the_line_comes_from_the_sdk_config_wrappers(portal: SdkPortal) -> None:
    config = portal.client.imopenlines.config
    line = config.add(params={"LINE_NAME": "Web chat"}).result
    assert isinstance(line, int)
    assert config.get(line).result["LINE_NAME"] == "Web chat"
    active = config.list.get(params={"filter": {"ACTIVE": "Y"}}).result
    assert str(line) in [row["ID"] for row in active]  # contract §11: LINE from config.list.get
    portal.connect(line)
    assert portal.client.imconnector.status(CONNECTOR, line=line).result["STATUS"] is True
    assert config.delete(line).result is True
    assert str(line) not in [row["ID"] for row in config.list.get().result]
