"""`event.bind` / `event.get` / `event.unbind` through the official SDK, and the sandbox's event
deliveries read by the SDK's own event parser and app.info check (contract §7, §13)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from b24pysdk.credentials import OAuthEventData
from b24pysdk.errors import BitrixAPIError
from sandbox.tests.sdk_support import (
    CONNECTOR,
    SdkPortal,
    customer_message,
    portal_fixture,  # noqa: F401  (the `portal` fixture)
)

if TYPE_CHECKING:
    from sandbox.tests.conftest import EventReceiver

EVENT = "OnImConnectorMessageAdd"


def test_bind_get_unbind(portal: SdkPortal) -> None:
    events = portal.client.event
    assert events.bind(EVENT, portal.handler_url).result is True  # contract §7.1
    listed = events.get()
    [binding] = listed.result
    # contract §7.1: upper-case name, `auth_type` a string, `offline` an int
    assert binding == {"event": EVENT.upper(), "handler": portal.handler_url, "auth_type": "0", "offline": 0}
    [parsed] = listed.values  # the SDK's object layer reads the same list
    assert (parsed.event, parsed.auth_type, parsed.offline) == (EVENT.upper(), 0, False)
    unbound = events.unbind(EVENT, portal.handler_url)
    assert unbound.result == {"count": 1}
    assert unbound.value == 1
    assert events.get().result == []


def test_binding_twice_is_an_sdk_error(portal: SdkPortal) -> None:
    events = portal.client.event
    events.bind(EVENT, portal.handler_url).call()
    with pytest.raises(BitrixAPIError) as caught:
        events.bind(EVENT.lower(), portal.handler_url).call()  # names are case-insensitive
    assert caught.value.error == "ERROR_CORE"  # contract §7.1 / §16 #11


def test_unknown_event_is_refused(portal: SdkPortal) -> None:
    with pytest.raises(BitrixAPIError) as caught:
        portal.client.event.bind("OnNoSuchThing", portal.handler_url).call()
    assert caught.value.error == "ERROR_EVENT_NOT_FOUND"  # contract §7.1, HTTP 400


def test_install_event_parses_with_refresh_token(portal: SdkPortal, receiver: EventReceiver) -> None:
    [install] = receiver.wait_event("ONAPPINSTALL")
    event = OAuthEventData.from_dict(install.form)
    # contract §6.2: the install event is the one that carries the refresh token
    assert event.auth.oauth_token.refresh_token == portal.installed["refresh_token"]
    assert event.auth.application_token == portal.installed["application_token"]
    assert event.auth.member_id == portal.installed["member_id"]


def test_connector_event_passes_the_sdk_app_info_check(portal: SdkPortal, receiver: EventReceiver) -> None:
    line = portal.new_line()
    portal.connect(line)
    portal.client.event.bind(EVENT, portal.handler_url).call()
    portal.client.imconnector.send.messages(CONNECTOR, line, [customer_message("Hi", "m-1")]).call()
    portal.ok(
        "operator/messages", {"line": line, "chat_id": "chat-1", "connector": CONNECTOR, "text": "Hello"}
    )
    [received] = receiver.wait_event(EVENT.upper())
    event = OAuthEventData.from_dict(received.form)  # contract §13: the SDK's required keys are there
    assert event.event == EVENT.upper()
    assert event.is_system is False
    assert event.auth.application_token == portal.installed["application_token"]
    assert event.data is not None
    assert event.data["MESSAGES"][0]["message"]["text"].endswith("Hello")
    # contract §7.4: the stronger check, app.info on the OAuth server with the event's token
    app_info = event.get_app_info(portal.app)
    assert app_info.client_id == portal.app.client_id
    assert event.validate_against_app_info(app_info) is True
