"""Typed events from raw wire bodies (fixtures `tests/fixtures/bitrix24/<event>__<case>.json`)."""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openline_bridge.bitrix24.errors import ForgedEvent, MalformedEvent, PayloadError
from openline_bridge.bitrix24.events import (
    MessageAdd,
    MessageUpdate,
    StatusDelete,
    dedup_key,
    parse_event,
    verify_application_token,
)
from openline_bridge.bitrix24.formdata import parse_form

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bitrix24"
FIXTURE_FILES = sorted(FIXTURES.glob("*__*.json"))


def load(name: str) -> dict[str, Any]:
    fixture: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return fixture


def parsed(name: str) -> Any:
    return parse_event(parse_form(load(name)["wire"]))


def test_fixtures_exist() -> None:
    assert len(FIXTURE_FILES) >= 10


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda path: path.stem)
def test_fixture(path: Path) -> None:
    fixture = json.loads(path.read_text(encoding="utf-8"))
    event_name = path.stem.split("__")[0].upper()
    form = parse_form(fixture["wire"])
    if "expected_error" in fixture:
        with pytest.raises(MalformedEvent) as caught:
            parse_event(form)
        assert caught.value.field == fixture["expected_error"]["field"]
        return
    event = parse_event(form)
    assert event.envelope.name == event_name
    actual = {"type": type(event).__name__, **json.loads(json.dumps(asdict(event)))}
    assert actual == fixture["expected"]


def test_message_add_values_are_typed() -> None:
    event = parsed("onimconnectormessageadd__operator_text_with_file")
    assert isinstance(event, MessageAdd)
    (message,) = event.messages
    assert (message.bitrix_chat_id, message.bitrix_message_id) == (1807, 86497)
    assert message.text == "[b]Klaus Weber:[/b][br] Guten Tag!"  # raw: the signature is the relay's job
    assert message.files[0].link.endswith("&ncc=1&ts=1773759161")
    assert event.envelope.auth.refresh_token is None  # contract §7.4


def test_tokenless_auth_parses() -> None:
    auth = parsed("onimconnectormessageadd__tokenless_system").envelope.auth
    assert auth.access_token is None
    assert auth.user_id is None
    assert auth.scope == ()


def test_install_keeps_refresh_token_and_space_separated_scope() -> None:
    auth = parsed("onappinstall__with_refresh_token").envelope.auth
    assert auth.refresh_token == "4s386p3q0tr8dy89xvmt96234v3dljg8"
    assert auth.scope == ("imopenlines", "imconnector", "im")


def test_json_rendering_of_docs_is_accepted_too() -> None:
    """contract §14.8: the docs show ints where the wire has strings; both parse alike."""
    form = {
        "event": "onImConnectorStatusDelete",
        "event_handler_id": 7,
        "ts": 1773759600,
        "data": {"CONNECTOR": "myconnector", "LINE": 107},
        "auth": {"member_id": "m", "domain": "d", "application_token": "t"},
    }
    event = parse_event(form)
    assert isinstance(event, StatusDelete)
    assert (event.envelope.name, event.connector, event.line) == (
        "ONIMCONNECTORSTATUSDELETE",
        "myconnector",
        107,
    )


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({}, "event"),
        ({"event": "ONAPPTEST"}, "ts"),
        ({"event": "ONAPPTEST", "ts": "1"}, "auth"),
        ({"event": "ONAPPTEST", "ts": "x", "auth": {}}, "ts"),
        ({"event": "ONAPPTEST", "ts": "1", "auth": "scalar"}, "auth"),
        (
            {"event": "ONAPPTEST", "ts": "1", "auth": {"member_id": "m", "domain": "d"}},
            "auth[application_token]",
        ),
        ({"event": ["list"], "ts": "1", "auth": {}}, "event"),
        ({"event": "E", "event_handler_id": "abc", "ts": "1", "auth": {}}, "event_handler_id"),
        (
            {"event": "E", "event_handler_id": "²", "ts": "1", "auth": {}},
            "event_handler_id",
        ),  # isdigit, not int
        ({"event": "E", "ts": "٣", "auth": {}}, "ts"),
        ({"event": "E", "ts": "9223372036854775808", "auth": {}}, "ts"),  # beyond BIGINT
    ],
)
def test_malformed_envelopes(form: dict[str, Any], field: str) -> None:
    with pytest.raises(MalformedEvent) as caught:
        parse_event(form)
    assert caught.value.field == field


ENVELOPE = {"ts": "1", "auth": {"member_id": "m", "domain": "d", "application_token": "t"}}


@pytest.mark.parametrize(
    ("event", "data", "field"),
    [
        ("ONIMCONNECTORMESSAGEADD", None, "data"),
        ("ONIMCONNECTORMESSAGEADD", {"CONNECTOR": "c", "LINE": "1"}, "data[MESSAGES]"),
        ("ONIMCONNECTORMESSAGEADD", {"CONNECTOR": "c", "LINE": "1", "MESSAGES": "x"}, "data[MESSAGES]"),
        ("ONIMCONNECTORMESSAGEADD", {"CONNECTOR": "c", "LINE": "1", "MESSAGES": ["x"]}, "data[MESSAGES][0]"),
        ("ONIMCONNECTORMESSAGEDELETE", {"LINE": "1", "MESSAGES": []}, "data[CONNECTOR]"),
        ("ONIMCONNECTORSTATUSDELETE", {"connector": "c"}, "data[line]"),
        ("ONIMCONNECTORLINEDELETE", None, "data"),
        ("ONIMCONNECTORLINEDELETE", "abc", "data"),
        ("ONIMCONNECTORDIALOGSTART", {"CONNECTOR": "c", "LINE": "1", "DATA": [{"chat": {"id": "1"}}]}, None),
    ],
)
def test_malformed_data(event: str, data: Any, field: str | None) -> None:
    with pytest.raises(MalformedEvent) as caught:
        parse_event({"event": event, "data": data, **ENVELOPE})
    assert caught.value.field == (field or "data[DATA][0][session]")


def test_garbage_forms_raise_payload_errors_only() -> None:
    for body in ["event=X&ts=1&auth=1", "event[]=1", "ts=1&auth[member_id][x]=1", "data[MESSAGES][0]=1"]:
        with pytest.raises(PayloadError):
            parse_event(parse_form(body))


form_values = st.recursive(
    st.text(max_size=8) | st.sampled_from(["1", "0", "", "Y", "-5", "²", "99999999999999999999999"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)
event_names = st.sampled_from(
    [
        "ONIMCONNECTORMESSAGEADD",
        "ONIMCONNECTORMESSAGEUPDATE",
        "ONIMCONNECTORMESSAGEDELETE",
        "ONIMCONNECTORSTATUSDELETE",
        "ONIMCONNECTORLINEDELETE",
        "ONIMCONNECTORDIALOGSTART",
        "ONIMCONNECTORDIALOGFINISH",
        "ONAPPINSTALL",
        "ONAPPUNINSTALL",
    ]
)


@settings(max_examples=300)
@given(event_names, form_values, form_values)
def test_arbitrary_data_raises_only_malformed_event(name: str, data: Any, auth: Any) -> None:
    form = {"event": name, "ts": "1", "data": data, "auth": auth}
    for candidate in (form, {**form, "auth": {"member_id": "m", "domain": "d", "application_token": "t"}}):
        with contextlib.suppress(MalformedEvent):
            dedup_key(parse_event(candidate))


def test_verify_application_token() -> None:
    event = parsed("onimconnectormessageadd__operator_text_with_file")
    verify_application_token("831c76b092f9f135d9b6b36c3a720757", event)
    for wrong in ["831c76b092f9f135d9b6b36c3a720758", "", "831c76b092f9f135d9b6b36c3a72075"]:
        with pytest.raises(ForgedEvent):
            verify_application_token(wrong, event)


def test_dedup_key_stable_across_duplicate_deliveries() -> None:
    event = parsed("onimconnectormessageadd__operator_text_with_file")
    # pitfall P9: a second binding delivers the same message with another handler id, ts and token.
    duplicate = replace(
        event,
        envelope=replace(
            event.envelope,
            handler_id=999,
            ts=event.envelope.ts + 3,
            auth=replace(event.envelope.auth, access_token="other"),
        ),
    )
    assert dedup_key(event) == dedup_key(duplicate)
    assert dedup_key(event).startswith("ONIMCONNECTORMESSAGEADD:bac1cd5c8940947a75e0d71b1a84e348:")


def test_dedup_keys_differ_where_events_differ() -> None:
    loaded = [json.loads(path.read_text(encoding="utf-8")) for path in FIXTURE_FILES]
    fixtures = [fixture for fixture in loaded if "expected" in fixture]
    keys = {dedup_key(parse_event(parse_form(f["wire"]))) for f in fixtures}
    assert len(keys) == len(fixtures)
    update = parsed("onimconnectormessageupdate__ids_array")
    assert isinstance(update, MessageUpdate)
    edited_again = replace(update, messages=(replace(update.messages[0], text="second edit"),))
    assert dedup_key(update) != dedup_key(edited_again)  # an edit of an edit is a new event
