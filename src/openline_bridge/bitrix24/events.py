"""Typed Bitrix24 events, parsed from the form dicts :func:`~.formdata.parse_form` produces.

Every shape quirk of contract §7.3 and §9 is absorbed here so the relay sees one model: values arrive as
strings, message events carry ``MESSAGES`` but dialog events ``DATA``, ``message.id`` is a list in
Update and a scalar in Delete, StatusDelete has lower-case keys, LineDelete's ``data`` is a bare line
id, and dialog events may say ``eventId`` instead of ``event_handler_id``. Operator text is kept raw
(BB-code and signature included); interpreting it is the relay's job.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from openline_bridge.bitrix24._fields import (
    as_int,
    as_list,
    as_str,
    data_mapping,
    either_case,
    mapping,
    optional_int,
    optional_mapping,
    optional_str,
    required,
    required_str,
)
from openline_bridge.bitrix24.errors import ForgedEvent, MalformedEvent

__all__ = [
    "AppInstall",
    "AppUninstall",
    "ConnectorEvent",
    "DeletedMessage",
    "DialogEvent",
    "DialogFinish",
    "DialogSession",
    "DialogStart",
    "EditedMessage",
    "Envelope",
    "Event",
    "EventAuth",
    "EventFile",
    "LineDelete",
    "MessageAdd",
    "MessageDelete",
    "MessageUpdate",
    "OperatorMessage",
    "StatusDelete",
    "UnknownEvent",
    "dedup_key",
    "parse_event",
    "verify_application_token",
]


@dataclass(frozen=True)
class EventAuth:
    """The ``auth`` block (contract §7.4); token fields are absent for system-triggered events."""

    member_id: str
    domain: str
    application_token: str
    client_endpoint: str | None
    server_endpoint: str | None
    access_token: str | None
    refresh_token: str | None  # contract §7.4: only ONAPPINSTALL carries it
    expires: int | None
    expires_in: int | None
    scope: tuple[str, ...]
    status: str | None
    user_id: int | None


@dataclass(frozen=True)
class Envelope:
    """Fields every event has: its upper-case name, binding id, queue timestamp and ``auth``."""

    name: str
    handler_id: int | None
    ts: int
    auth: EventAuth


@dataclass(frozen=True)
class EventFile:
    """A file of an operator message (contract §9.1: a portal link, maybe needing auth to download)."""

    name: str
    link: str
    type: str | None
    size: int | None
    width: int | None
    height: int | None
    mime: str | None
    download_link: str | None


@dataclass(frozen=True)
class OperatorMessage:
    """One ``MESSAGES`` element of ``ONIMCONNECTORMESSAGEADD``."""

    bitrix_chat_id: int
    bitrix_message_id: int
    external_chat_id: str
    author_bitrix_user_id: int | None
    text: str
    files: tuple[EventFile, ...]
    params: Mapping[str, Any]


@dataclass(frozen=True)
class EditedMessage:
    """One ``MESSAGES`` element of ``ONIMCONNECTORMESSAGEUPDATE``: the ids we confirmed on delivery."""

    bitrix_chat_id: int
    bitrix_message_id: int
    external_chat_id: str
    external_message_ids: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class DeletedMessage:
    """One ``MESSAGES`` element of ``ONIMCONNECTORMESSAGEDELETE``."""

    bitrix_chat_id: int
    bitrix_message_id: int
    external_chat_id: str
    external_message_ids: tuple[str, ...]


@dataclass(frozen=True)
class DialogSession:
    """One ``DATA`` element of the dialog events (contract §9.6)."""

    external_chat_id: str
    customer_bitrix_user_id: int | None  # contract §9.6/§14.5: internal id per source, 0 in doc examples
    session_id: int
    closed: bool
    parent_session_id: int | None
    close_term_minutes: int | None


@dataclass(frozen=True)
class AppInstall:
    envelope: Envelope
    version: str | None
    active: bool
    installed: bool
    language_id: str | None


@dataclass(frozen=True)
class AppUninstall:
    envelope: Envelope
    language_id: str | None
    clean: bool


@dataclass(frozen=True)
class ConnectorEvent:
    """An event about our connector on one line."""

    envelope: Envelope
    connector: str
    line: int


@dataclass(frozen=True)
class MessageAdd(ConnectorEvent):
    """An operator wrote to the visitor (contract §9.1)."""

    messages: tuple[OperatorMessage, ...]


@dataclass(frozen=True)
class MessageUpdate(ConnectorEvent):
    """An operator edited a delivered message (contract §9.2)."""

    messages: tuple[EditedMessage, ...]


@dataclass(frozen=True)
class MessageDelete(ConnectorEvent):
    """An operator deleted a delivered message (contract §9.3)."""

    messages: tuple[DeletedMessage, ...]


@dataclass(frozen=True)
class StatusDelete(ConnectorEvent):
    """The connector was switched off on the line (contract §9.5)."""


@dataclass(frozen=True)
class DialogEvent(ConnectorEvent):
    """A session of the line opened or closed (contract §9.6, §9.7)."""

    sessions: tuple[DialogSession, ...]


@dataclass(frozen=True)
class DialogStart(DialogEvent):
    """A session opened."""


@dataclass(frozen=True)
class DialogFinish(DialogEvent):
    """A session closed."""


@dataclass(frozen=True)
class LineDelete:
    """The line itself was deleted (contract §9.4); sent to every app, not only the connector's owner."""

    envelope: Envelope
    line: int


@dataclass(frozen=True)
class UnknownEvent:
    """Any event we do not model; ``data`` is kept as parsed."""

    envelope: Envelope
    data: Any


Event: TypeAlias = (
    AppInstall
    | AppUninstall
    | MessageAdd
    | MessageUpdate
    | MessageDelete
    | StatusDelete
    | LineDelete
    | DialogStart
    | DialogFinish
    | UnknownEvent
)


def parse_event(form: Mapping[str, Any]) -> Event:
    """Build the typed event from a parsed form; raise :class:`MalformedEvent` naming a bad field."""
    envelope = _envelope(form)
    parser = _PARSERS.get(envelope.name)
    if parser is None:
        return UnknownEvent(envelope, form.get("data"))
    return parser(envelope, form.get("data"))


def verify_application_token(expected: str, event: Event) -> None:
    """Raise :class:`ForgedEvent` unless the event carries the portal's ``application_token`` (pitfall P8)."""
    given = event.envelope.auth.application_token.encode("utf-8")
    if not expected or not hmac.compare_digest(given, expected.encode("utf-8")):
        raise ForgedEvent("application_token does not match the portal's")


def dedup_key(event: Event) -> str:
    """A stable key for the inbox: the same delivery (or a duplicate binding's copy) maps to one key.

    Message events are keyed by Bitrix24's message ids (pitfall P9: dedup by ``im.message_id``); an
    edit also by its text, since one message can be edited many times. Dialog events are keyed by
    session. Anything else by a hash of its data and timestamp.
    """
    identity: object
    if isinstance(event, MessageAdd | MessageDelete):
        identity = sorted({m.bitrix_message_id for m in event.messages})
    elif isinstance(event, MessageUpdate):
        identity = sorted({(m.bitrix_message_id, m.text) for m in event.messages})
    elif isinstance(event, DialogStart | DialogFinish):
        identity = sorted({s.session_id for s in event.sessions})
    elif isinstance(event, StatusDelete):
        identity = [event.connector, event.line, event.envelope.ts]
    elif isinstance(event, LineDelete):
        identity = [event.line, event.envelope.ts]
    else:
        identity = [_data_of(event), event.envelope.ts]
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode("utf-8")).hexdigest()
    return f"{event.envelope.name}:{event.envelope.auth.member_id}:{digest[:40]}"


def _data_of(event: AppInstall | AppUninstall | UnknownEvent) -> object:
    if isinstance(event, UnknownEvent):
        return event.data
    if isinstance(event, AppInstall):
        return [event.version, event.active, event.installed, event.language_id]
    return [event.language_id, event.clean]


# ---------------------------------------------------------------------------------------------------
# envelope


def _envelope(form: Mapping[str, Any]) -> Envelope:
    name = required_str(form, "event", "event").upper()
    # contract §9.6/§14.4: dialog events in the docs say `eventId`; the sender emits `event_handler_id`.
    # contract §6.2: the install callback may have neither.
    handler_raw = form.get("event_handler_id", form.get("eventId"))
    handler_id = None if handler_raw is None else as_int(handler_raw, "event_handler_id")
    ts = as_int(required(form, "ts", "ts"), "ts")
    auth = form.get("auth")
    if not isinstance(auth, Mapping):
        raise MalformedEvent("auth")
    return Envelope(name, handler_id, ts, _auth(auth))


def _auth(auth: Mapping[str, Any]) -> EventAuth:
    scope = optional_str(auth, "scope", "auth[scope]") or ""
    # contract §6.2, §7.4: scope is comma- or space-separated depending on the payload.
    scopes = tuple(part for part in scope.replace(",", " ").split() if part)
    return EventAuth(
        member_id=required_str(auth, "member_id", "auth[member_id]"),
        domain=required_str(auth, "domain", "auth[domain]"),
        application_token=required_str(auth, "application_token", "auth[application_token]"),
        client_endpoint=optional_str(auth, "client_endpoint", "auth[client_endpoint]"),
        server_endpoint=optional_str(auth, "server_endpoint", "auth[server_endpoint]"),
        access_token=optional_str(auth, "access_token", "auth[access_token]"),
        refresh_token=optional_str(auth, "refresh_token", "auth[refresh_token]"),
        expires=optional_int(auth, "expires", "auth[expires]"),
        expires_in=optional_int(auth, "expires_in", "auth[expires_in]"),
        scope=scopes,
        status=optional_str(auth, "status", "auth[status]"),
        user_id=optional_int(auth, "user_id", "auth[user_id]"),
    )


# ---------------------------------------------------------------------------------------------------
# per-event data


def _app_install(envelope: Envelope, data: Any) -> AppInstall:
    data = data if isinstance(data, Mapping) else {}
    return AppInstall(
        envelope,
        version=optional_str(data, "VERSION", "data[VERSION]"),
        active=optional_str(data, "ACTIVE", "data[ACTIVE]") == "Y",
        installed=optional_str(data, "INSTALLED", "data[INSTALLED]") == "Y",
        language_id=optional_str(data, "LANGUAGE_ID", "data[LANGUAGE_ID]"),
    )


def _app_uninstall(envelope: Envelope, data: Any) -> AppUninstall:
    data = data if isinstance(data, Mapping) else {}
    clean = optional_str(data, "CLEAN", "data[CLEAN]")
    return AppUninstall(envelope, optional_str(data, "LANGUAGE_ID", "data[LANGUAGE_ID]"), clean == "1")


def _operator_message(element: Any, where: str) -> OperatorMessage:
    chat_id, message_id, external_chat_id = _message_ids(element, where)
    message = mapping(element, "message", f"{where}[message]")
    files_raw = as_list(message.get("files", []), f"{where}[message][files]")
    params = message.get("params", {})
    return OperatorMessage(
        bitrix_chat_id=chat_id,
        bitrix_message_id=message_id,
        external_chat_id=external_chat_id,
        author_bitrix_user_id=optional_int(message, "user_id", f"{where}[message][user_id]"),
        text=optional_str(message, "text", f"{where}[message][text]") or "",
        files=tuple(_file(item, f"{where}[message][files][{i}]") for i, item in enumerate(files_raw)),
        params=params if isinstance(params, Mapping) else {},
    )


def _edited_message(element: Any, where: str) -> EditedMessage:
    chat_id, message_id, external_chat_id = _message_ids(element, where)
    message = mapping(element, "message", f"{where}[message]")
    return EditedMessage(
        bitrix_chat_id=chat_id,
        bitrix_message_id=message_id,
        external_chat_id=external_chat_id,
        external_message_ids=_external_ids(message, f"{where}[message][id]"),
        text=optional_str(message, "text", f"{where}[message][text]") or "",
    )


def _deleted_message(element: Any, where: str) -> DeletedMessage:
    chat_id, message_id, external_chat_id = _message_ids(element, where)
    message = mapping(element, "message", f"{where}[message]")
    return DeletedMessage(
        chat_id, message_id, external_chat_id, _external_ids(message, f"{where}[message][id]")
    )


def _message_event(
    kind: Callable[[Envelope, str, int, tuple[Any, ...]], Event], element: Callable[[Any, str], Any]
) -> Callable[[Envelope, Any], Event]:
    def parse(envelope: Envelope, data: Any) -> Event:
        connector, line, key, elements = _message_block(data)
        parsed = tuple(element(item, f"data[{key}][{index}]") for index, item in enumerate(elements))
        return kind(envelope, connector, line, parsed)

    return parse


def _status_delete(envelope: Envelope, data: Any) -> StatusDelete:
    block = data_mapping(data)
    # contract §9.5: this event alone uses lower-case keys; accept upper-case too.
    connector = required_str(either_case(block, "connector"), "connector", "data[connector]")
    line = as_int(required(either_case(block, "line"), "line", "data[line]"), "data[line]")
    return StatusDelete(envelope, connector, line)


def _line_delete(envelope: Envelope, data: Any) -> LineDelete:
    # contract §9.4: `data` is the bare line id (`data=107`); a mapping with LINE is accepted as well.
    if isinstance(data, Mapping):
        data = either_case(data, "line").get("line")
    if data is None:
        raise MalformedEvent("data")
    return LineDelete(envelope, as_int(data, "data"))


def _dialog(kind: type[DialogStart] | type[DialogFinish]) -> Callable[[Envelope, Any], Event]:
    def parse(envelope: Envelope, data: Any) -> Event:
        block = data_mapping(data)
        connector = required_str(block, "CONNECTOR", "data[CONNECTOR]")
        line = as_int(required(block, "LINE", "data[LINE]"), "data[LINE]")
        # contract §9.6: the inner array is `DATA` here, not `MESSAGES`.
        key = "MESSAGES" if "MESSAGES" in block and "DATA" not in block else "DATA"
        elements = as_list(required(block, key, f"data[{key}]"), f"data[{key}]")
        sessions = tuple(_dialog_session(item, f"data[{key}][{i}]") for i, item in enumerate(elements))
        return kind(envelope, connector, line, sessions)

    return parse


def _dialog_session(element: Any, where: str) -> DialogSession:
    if not isinstance(element, Mapping):
        raise MalformedEvent(where, "is not an object")
    session = mapping(element, "session", f"{where}[session]")
    connector, chat, user = (optional_mapping(element, key) for key in ("connector", "chat", "user"))
    external_chat = chat.get("id", connector.get("chat_id"))
    if external_chat is None:
        raise MalformedEvent(f"{where}[chat][id]")
    user_raw = user.get("id", connector.get("user_id"))
    user_id = None if user_raw is None else as_int(user_raw, f"{where}[user][id]")
    parent_id = optional_int(session, "parent_id", f"{where}[session][parent_id]")
    return DialogSession(
        external_chat_id=as_str(external_chat, f"{where}[chat][id]"),
        # contract §16.6: docs show user id 0; 0 means "unknown" here, as parent_id 0 means "none".
        customer_bitrix_user_id=user_id or None,
        session_id=as_int(required(session, "id", f"{where}[session][id]"), f"{where}[session][id]"),
        closed=optional_str(session, "closed", f"{where}[session][closed]") == "Y",
        parent_session_id=parent_id or None,
        close_term_minutes=optional_int(session, "close_term", f"{where}[session][close_term]"),
    )


_PARSERS: dict[str, Callable[[Envelope, Any], Event]] = {
    "ONAPPINSTALL": _app_install,
    "ONAPPUNINSTALL": _app_uninstall,
    "ONIMCONNECTORMESSAGEADD": _message_event(MessageAdd, _operator_message),
    "ONIMCONNECTORMESSAGEUPDATE": _message_event(MessageUpdate, _edited_message),
    "ONIMCONNECTORMESSAGEDELETE": _message_event(MessageDelete, _deleted_message),
    "ONIMCONNECTORSTATUSDELETE": _status_delete,
    "ONIMCONNECTORLINEDELETE": _line_delete,
    "ONIMCONNECTORDIALOGSTART": _dialog(DialogStart),
    "ONIMCONNECTORDIALOGFINISH": _dialog(DialogFinish),
}


# ---------------------------------------------------------------------------------------------------
# shared pieces


def _message_block(data: Any) -> tuple[str, int, str, list[Any]]:
    block = data_mapping(data)
    connector = required_str(block, "CONNECTOR", "data[CONNECTOR]")
    line = as_int(required(block, "LINE", "data[LINE]"), "data[LINE]")
    # contract §7.5: B24 renames the internal DATA to MESSAGES for message events; accept either.
    key = "DATA" if "DATA" in block and "MESSAGES" not in block else "MESSAGES"
    elements = as_list(required(block, key, f"data[{key}]"), f"data[{key}]")
    if not elements:
        raise MalformedEvent(f"data[{key}]", "is empty")
    return connector, line, key, elements


def _message_ids(element: Any, where: str) -> tuple[int, int, str]:
    if not isinstance(element, Mapping):
        raise MalformedEvent(where, "is not an object")
    im = mapping(element, "im", f"{where}[im]")
    chat = mapping(element, "chat", f"{where}[chat]")
    return (
        as_int(required(im, "chat_id", f"{where}[im][chat_id]"), f"{where}[im][chat_id]"),
        as_int(required(im, "message_id", f"{where}[im][message_id]"), f"{where}[im][message_id]"),
        required_str(chat, "id", f"{where}[chat][id]"),
    )


def _external_ids(message: Mapping[str, Any], where: str) -> tuple[str, ...]:
    # contract §9.2/§9.3: a list in Update, a scalar in Delete; accept both everywhere.
    raw = required(message, "id", where)
    items = raw if isinstance(raw, list) else [raw]
    ids = tuple(as_str(item, where) for item in items)
    if not ids:
        raise MalformedEvent(where, "is empty")
    return ids


def _file(item: Any, where: str) -> EventFile:
    if not isinstance(item, Mapping):
        raise MalformedEvent(where, "is not an object")
    return EventFile(
        name=optional_str(item, "name", f"{where}[name]") or "file",
        link=required_str(item, "link", f"{where}[link]"),
        type=optional_str(item, "type", f"{where}[type]"),
        size=optional_int(item, "size", f"{where}[size]"),
        width=optional_int(item, "width", f"{where}[width]"),
        height=optional_int(item, "height", f"{where}[height]"),
        mime=optional_str(item, "mime", f"{where}[mime]"),
        download_link=optional_str(item, "downloadLink", f"{where}[downloadLink]"),
    )
