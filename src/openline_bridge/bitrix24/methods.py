"""One typed async function per Bitrix24 REST method the bridge uses (contract §5.5, §7.1, §8).

Each takes a :class:`~.client.RestCaller` (the portal's stored tokens, or an admin's ``AUTH_ID`` on the
placement page), builds the parameters in the form the contract advises, and turns the result into
dataclasses. Outcomes that arrive as a "successful" envelope but mean failure are raised as
:class:`~.errors.PermanentError` here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from openline_bridge.bitrix24.client import RestCaller
from openline_bridge.bitrix24.errors import PermanentError

__all__ = [
    "AppInfo",
    "ConnectorData",
    "ConnectorRegistration",
    "ConnectorStatus",
    "DeletedRef",
    "DeliveryReceipt",
    "EventBinding",
    "MessageOutcome",
    "OpenLine",
    "OutgoingFile",
    "OutgoingMessage",
    "Visitor",
    "activate",
    "app_info",
    "chat_name_set",
    "connector_data_set",
    "delete_messages",
    "event_bind",
    "event_get",
    "event_unbind",
    "open_lines",
    "register",
    "send_messages",
    "send_status_delivery",
    "send_status_reading",
    "session_connector_ids",
    "status",
    "unregister",
    "update_messages",
]


# ---------------------------------------------------------------------------------------------------
# connector lifecycle


@dataclass(frozen=True)
class ConnectorRegistration:
    """Parameters of ``imconnector.register`` (contract §8.1); ``None`` flags keep Bitrix24's default."""

    connector_id: str
    name: str
    icon_data_image: str
    placement_handler: str
    icon_color: str | None = None
    icon_size: str | None = None
    icon_position: str | None = None
    icon_disabled_data_image: str | None = None
    icon_disabled_color: str | None = None
    del_external_messages: bool | None = None
    edit_internal_messages: bool | None = None
    del_internal_messages: bool | None = None
    newsletter: bool | None = None
    need_system_messages: bool | None = None
    need_signature: bool | None = None
    chat_group: bool | None = None
    comment: str | None = None

    def __post_init__(self) -> None:
        # contract §8.1, pitfall P2: Bitrix24 lower-cases the id and refuses a dot.
        if "." in self.connector_id or self.connector_id != self.connector_id.lower():
            raise ValueError("connector id must be lower-case without dots")


async def register(caller: RestCaller, registration: ConnectorRegistration) -> None:
    """``imconnector.register``: create or update the connector tile and its settings placement."""
    icon = _without_none(
        {
            "DATA_IMAGE": registration.icon_data_image,
            "COLOR": registration.icon_color,
            "SIZE": registration.icon_size,
            "POSITION": registration.icon_position,
        }
    )
    params: dict[str, Any] = {
        "ID": registration.connector_id,
        "NAME": registration.name,
        "ICON": icon,
        "PLACEMENT_HANDLER": registration.placement_handler,
    }
    if registration.icon_disabled_data_image is not None:
        params["ICON_DISABLED"] = _without_none(
            {"DATA_IMAGE": registration.icon_disabled_data_image, "COLOR": registration.icon_disabled_color}
        )
    flags = {
        "DEL_EXTERNAL_MESSAGES": registration.del_external_messages,
        "EDIT_INTERNAL_MESSAGES": registration.edit_internal_messages,
        "DEL_INTERNAL_MESSAGES": registration.del_internal_messages,
        "NEWSLETTER": registration.newsletter,
        "NEED_SYSTEM_MESSAGES": registration.need_system_messages,
        "NEED_SIGNATURE": registration.need_signature,
        "CHAT_GROUP": registration.chat_group,
    }
    # contract §8.1: the table stores Y/N and the official SDK sends "Y"/"N".
    params.update({key: _yes_no(value) for key, value in flags.items() if value is not None})
    if registration.comment is not None:
        params["COMMENT"] = registration.comment
    response = await caller.call("imconnector.register", params)
    _require_nested_true(response.result, "imconnector.register")


async def unregister(caller: RestCaller, connector_id: str) -> None:
    """``imconnector.unregister`` (contract §8.2)."""
    response = await caller.call("imconnector.unregister", {"ID": connector_id})
    _require_nested_true(response.result, "imconnector.unregister")


async def activate(caller: RestCaller, connector_id: str, line: int, *, active: bool) -> bool:
    """``imconnector.activate``; ``False`` when deactivating a line that had no status row (§8.3)."""
    # contract §8.3/§14.17: PHP empty() decides, so "N" would activate; send 1/0.
    params = {"CONNECTOR": connector_id, "LINE": line, "ACTIVE": 1 if active else 0}
    response = await caller.call("imconnector.activate", params)
    return bool(response.result)


@dataclass(frozen=True)
class ConnectorStatus:
    """``imconnector.status`` (contract §8.4); only ``status`` true accepts messages (pitfall P3)."""

    line: int
    connector_id: str
    error: bool
    configured: bool
    status: bool


async def status(caller: RestCaller, connector_id: str, line: int) -> ConnectorStatus:
    """``imconnector.status`` (creates an all-``N`` row as a side effect, §8.4)."""
    response = await caller.call("imconnector.status", {"CONNECTOR": connector_id, "LINE": line})
    result = _mapping(response.result, "imconnector.status")
    return ConnectorStatus(
        line=_int_or(result.get("LINE"), line),
        connector_id=str(result.get("CONNECTOR") or connector_id),
        error=_truthy(result.get("ERROR")),
        configured=_truthy(result.get("CONFIGURED")),
        status=_truthy(result.get("STATUS")),
    )


@dataclass(frozen=True)
class ConnectorData:
    """The channel description shown in Contact Center (``imconnector.connector.data.set``, §8.5)."""

    channel_id: str
    url: str | None = None
    url_im: str | None = None
    name: str | None = None


async def connector_data_set(caller: RestCaller, connector_id: str, line: int, data: ConnectorData) -> None:
    """``imconnector.connector.data.set``; send every key every time (merge vs overwrite, §14.3)."""
    payload = _without_none(
        {"ID": data.channel_id, "URL": data.url, "URL_IM": data.url_im, "NAME": data.name}
    )
    params = {"CONNECTOR": connector_id, "LINE": line, "DATA": payload}
    response = await caller.call("imconnector.connector.data.set", params)
    if response.result is False:
        raise PermanentError("DATA_SET_FAILED", "imconnector.connector.data.set returned false")


# ---------------------------------------------------------------------------------------------------
# messages


@dataclass(frozen=True)
class Visitor:
    """The ``user`` block of a message (contract §8.7); ``external_user_id`` must stay stable (P12)."""

    external_user_id: str
    name: str | None = None
    last_name: str | None = None
    picture_url: str | None = None
    url: str | None = None
    email: str | None = None
    phone: str | None = None

    def as_param(self) -> dict[str, Any]:
        """The ``user`` object as Bitrix24 reads it."""
        picture = {"url": self.picture_url} if self.picture_url else None
        return _without_none(
            {
                "id": self.external_user_id,
                "name": self.name,
                "last_name": self.last_name,
                "picture": picture,
                "url": self.url,
                "email": self.email,
                "phone": self.phone,
            }
        )


@dataclass(frozen=True)
class OutgoingFile:
    """A file Bitrix24 downloads itself (contract §8.7: the URL must be reachable from the portal)."""

    url: str
    name: str


@dataclass(frozen=True)
class OutgoingMessage:
    """One element of ``MESSAGES`` for send/update (contract §8.7, §8.8); needs text or files."""

    visitor: Visitor
    external_chat_id: str
    external_message_id: str
    text: str | None = None
    files: Sequence[OutgoingFile] = field(default_factory=tuple)
    sent_at: int | None = None  # unix seconds
    chat_name: str | None = None
    chat_url: str | None = None
    disable_crm: bool = False

    def as_param(self) -> dict[str, Any]:
        """The element as Bitrix24 reads it."""
        message: dict[str, Any] = _without_none(
            {"id": self.external_message_id, "date": self.sent_at, "text": self.text}
        )
        if self.files:
            message["files"] = [{"url": item.url, "name": item.name} for item in self.files]
        if self.disable_crm:
            message["disable_crm"] = "Y"  # contract §8.7: "Y" only
        chat = _without_none({"id": self.external_chat_id, "name": self.chat_name, "url": self.chat_url})
        return {"user": self.visitor.as_param(), "message": message, "chat": chat}


@dataclass(frozen=True)
class MessageOutcome:
    """Per-element result of send/update/delete (contract §8.7 step 4, pitfall P15)."""

    success: bool
    errors: tuple[str, ...]
    customer_bitrix_user_id: str | None = None
    bitrix_session_id: str | None = None
    bitrix_chat_id: str | None = None
    bitrix_file_ids: tuple[str, ...] = ()


async def send_messages(
    caller: RestCaller, connector_id: str, line: int, messages: Sequence[OutgoingMessage]
) -> list[MessageOutcome]:
    """``imconnector.send.messages``: one outcome per message, in order."""
    return await _message_call(
        caller, "imconnector.send.messages", connector_id, line, [m.as_param() for m in messages]
    )


async def update_messages(
    caller: RestCaller, connector_id: str, line: int, messages: Sequence[OutgoingMessage]
) -> list[MessageOutcome]:
    """``imconnector.update.messages`` (§8.8): same ids as when sent; unknown ids still succeed."""
    return await _message_call(
        caller, "imconnector.update.messages", connector_id, line, [m.as_param() for m in messages]
    )


@dataclass(frozen=True)
class DeletedRef:
    """Which visitor message to delete (contract §8.9)."""

    external_user_id: str
    external_chat_id: str
    external_message_id: str


async def delete_messages(
    caller: RestCaller, connector_id: str, line: int, messages: Sequence[DeletedRef]
) -> list[MessageOutcome]:
    """``imconnector.delete.messages`` (§8.9)."""
    elements = [
        {
            "user": {"id": ref.external_user_id},
            "message": {"id": ref.external_message_id},
            "chat": {"id": ref.external_chat_id},
        }
        for ref in messages
    ]
    return await _message_call(caller, "imconnector.delete.messages", connector_id, line, elements)


async def _message_call(
    caller: RestCaller, method: str, connector_id: str, line: int, elements: list[dict[str, Any]]
) -> list[MessageOutcome]:
    if not elements:
        raise ValueError(f"{method} needs at least one message")
    response = await caller.call(method, {"CONNECTOR": connector_id, "LINE": line, "MESSAGES": elements})
    result = _mapping(response.result, method)
    data = result.get("DATA")
    rows = data.get("RESULT") if isinstance(data, Mapping) else None
    if not isinstance(rows, list):
        # contract §8.7: top-level SUCCESS stays true even when messages fail; without rows, nothing is known.
        raise PermanentError("UNEXPECTED_ANSWER", f"{method} returned no per-message results")
    outcomes = [_outcome(row) for row in rows]
    missing = len(elements) - len(outcomes)
    outcomes.extend(MessageOutcome(False, ("no result for this message",)) for _ in range(max(0, missing)))
    return outcomes


def _outcome(row: Any) -> MessageOutcome:
    if not isinstance(row, Mapping):
        return MessageOutcome(False, ("malformed result row",))
    # contract §8.7: per-message SUCCESS, ERRORS is a list of texts on failed elements only.
    errors_raw = row.get("ERRORS") or []
    errors = tuple(
        str(item) for item in (errors_raw.values() if isinstance(errors_raw, Mapping) else errors_raw)
    )
    session = _sub_mapping(row, "session")
    files = _sub_mapping(row, "message").get("files")
    user = row.get("user")
    return MessageOutcome(
        success=_truthy(row.get("SUCCESS")) and not errors,
        errors=errors,
        customer_bitrix_user_id=None if user in (None, "", False) else str(user),
        bitrix_session_id=_str_or_none(session.get("ID")),
        bitrix_chat_id=_str_or_none(session.get("CHAT_ID")),
        bitrix_file_ids=tuple(str(item) for item in files) if isinstance(files, list) else (),
    )


# ---------------------------------------------------------------------------------------------------
# receipts and chat name


@dataclass(frozen=True)
class DeliveryReceipt:
    """Confirms an operator message reached the visitor (contract §8.10, pitfall P19)."""

    bitrix_chat_id: int
    bitrix_message_id: int
    external_chat_id: str
    external_message_ids: Sequence[str]
    delivered_at: int | None = None  # unix seconds

    def as_param(self, *, with_date: bool) -> dict[str, Any]:
        """The element as Bitrix24 reads it; ``message.id`` is always a list (P19)."""
        message: dict[str, Any] = {"id": list(self.external_message_ids)}
        if with_date and self.delivered_at is not None:
            message["date"] = self.delivered_at
        return {
            "im": {"chat_id": self.bitrix_chat_id, "message_id": self.bitrix_message_id},
            "message": message,
            "chat": {"id": self.external_chat_id},
        }


async def send_status_delivery(
    caller: RestCaller, connector_id: str, line: int, receipts: Sequence[DeliveryReceipt]
) -> None:
    """``imconnector.send.status.delivery``: records our external ids on the operator messages."""
    await _receipt_call(
        caller,
        "imconnector.send.status.delivery",
        connector_id,
        line,
        [r.as_param(with_date=True) for r in receipts],
    )


async def send_status_reading(
    caller: RestCaller, connector_id: str, line: int, receipts: Sequence[DeliveryReceipt]
) -> None:
    """``imconnector.send.status.reading`` (contract §8.11: accepted, no visible effect)."""
    await _receipt_call(
        caller,
        "imconnector.send.status.reading",
        connector_id,
        line,
        [r.as_param(with_date=False) for r in receipts],
    )


async def _receipt_call(
    caller: RestCaller, method: str, connector_id: str, line: int, elements: list[dict[str, Any]]
) -> None:
    if not elements:
        raise ValueError(f"{method} needs at least one receipt")
    response = await caller.call(method, {"CONNECTOR": connector_id, "LINE": line, "MESSAGES": elements})
    _require_success(response.result, method)


async def chat_name_set(
    caller: RestCaller,
    connector_id: str,
    line: int,
    *,
    external_chat_id: str,
    name: str,
    external_user_id: str | None,
) -> None:
    """``imconnector.chat.name.set`` (§8.12); ``external_user_id`` may be omitted only with ``CHAT_GROUP``."""
    params = _without_none(
        {
            "CONNECTOR": connector_id,
            "LINE": line,
            "CHAT_ID": external_chat_id,
            "NAME": name,
            "USER_ID": external_user_id,
        }
    )
    response = await caller.call("imconnector.chat.name.set", params)
    _require_success(response.result, "imconnector.chat.name.set")


# ---------------------------------------------------------------------------------------------------
# events, app, lines


@dataclass(frozen=True)
class EventBinding:
    """One row of ``event.get`` (contract §7.1)."""

    event: str
    handler: str
    auth_type: str
    offline: bool


async def event_bind(caller: RestCaller, event: str, handler: str) -> None:
    """``event.bind`` for an online handler; binding twice fails on the portal (use ``event_get`` first)."""
    response = await caller.call("event.bind", {"event": event, "handler": handler})
    if response.result is not True:
        raise PermanentError("EVENT_BIND_FAILED", f"event.bind {event} returned {response.result!r}")


async def event_unbind(caller: RestCaller, event: str, handler: str) -> int:
    """``event.unbind``; the number of handlers removed."""
    response = await caller.call("event.unbind", {"event": event, "handler": handler})
    result = response.result
    return _int_or(result.get("count"), 0) if isinstance(result, Mapping) else 0


async def event_get(caller: RestCaller) -> list[EventBinding]:
    """``event.get``: the app's bindings, event names upper-case (contract §7.1)."""
    response = await caller.call("event.get")
    rows = response.result if isinstance(response.result, list) else []
    return [
        EventBinding(
            event=str(row.get("event", "")).upper(),
            handler=str(row.get("handler", "")),
            auth_type=str(row.get("auth_type", "0")),
            offline=_truthy(row.get("offline")),
        )
        for row in rows
        if isinstance(row, Mapping)
    ]


@dataclass(frozen=True)
class AppInfo:
    """``app.info`` (contract §5.5)."""

    client_id: str | None
    version: str | None
    status: str | None
    installed: bool
    payment_expired: bool
    days_left: int | None
    language_id: str | None


async def app_info(caller: RestCaller) -> AppInfo:
    """``app.info``: whether the app is installed and paid for on this portal."""
    response = await caller.call("app.info")
    result = _mapping(response.result, "app.info")
    days = result.get("DAYS")
    return AppInfo(
        client_id=_str_or_none(result.get("CODE") or result.get("ID")),
        version=_str_or_none(result.get("VERSION")),
        status=_str_or_none(result.get("STATUS")),
        installed=_truthy(result.get("INSTALLED")),
        payment_expired=_truthy(result.get("PAYMENT_EXPIRED")),
        days_left=None if days in (None, "") else _int_or(days, 0),
        language_id=_str_or_none(result.get("LANGUAGE_ID")),
    )


@dataclass(frozen=True)
class OpenLine:
    """One open line of ``imopenlines.config.list.get``."""

    line: int
    name: str
    active: bool


async def open_lines(caller: RestCaller) -> list[OpenLine]:
    """``imopenlines.config.list.get``: the portal's lines (not described by the contract; tolerant)."""
    response = await caller.call("imopenlines.config.list.get")
    rows = response.result if isinstance(response.result, list) else []
    lines = []
    for row in rows:
        if isinstance(row, Mapping) and _int_or(row.get("ID"), -1) >= 0:
            lines.append(
                OpenLine(
                    line=_int_or(row.get("ID"), -1),
                    name=str(row.get("LINE_NAME") or row.get("NAME") or ""),
                    active=_truthy(row.get("ACTIVE", "Y")),
                )
            )
    return lines


async def session_connector_ids(caller: RestCaller, bitrix_chat_id: int, bitrix_session_id: int) -> set[str]:
    """``imopenlines.session.history.get``: every external message id (``connectorMid``) the session holds.

    Not in the contract; the public docs (``imopenlines-session-history-get.md``) show ``message`` as an
    object keyed by message id whose ``params`` is ``[]`` or carries ``connectorMid`` (a list of ids).
    ``SESSION_ID`` lets the app read a chat its user does not take part in.
    """
    response = await caller.call(
        "imopenlines.session.history.get", {"CHAT_ID": bitrix_chat_id, "SESSION_ID": bitrix_session_id}
    )
    messages = _sub_mapping(_mapping(response.result, "imopenlines.session.history.get"), "message")
    found: set[str] = set()
    for message in messages.values():
        params = message.get("params") if isinstance(message, Mapping) else None
        if not isinstance(params, Mapping):
            continue
        # the docs show the camel-cased REST form; tolerate the stored parameter name as well
        mids = params.get("connectorMid", params.get("CONNECTOR_MID"))
        if isinstance(mids, list):
            found.update(str(mid) for mid in mids)
        elif isinstance(mids, str | int):
            found.add(str(mids))
    return found


# ---------------------------------------------------------------------------------------------------
# helpers


def _without_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _sub_mapping(block: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = block.get(key)
    return value if isinstance(value, Mapping) else {}


def _yes_no(value: bool) -> str:
    return "Y" if value else "N"


def _truthy(value: Any) -> bool:
    """Bitrix24 spells booleans as JSON booleans, "Y"/"N", 1/0 or "1"/"0" depending on the method."""
    if isinstance(value, str):
        return value.strip().upper() in {"Y", "1", "TRUE"}
    return bool(value)


def _int_or(value: Any, default: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.strip().isdigit():
        return int(value)
    return default


def _str_or_none(value: Any) -> str | None:
    return None if value in (None, "", False) else str(value)


def _mapping(result: Any, method: str) -> Mapping[str, Any]:
    if not isinstance(result, Mapping):
        raise PermanentError("UNEXPECTED_ANSWER", f"{method} returned {type(result).__name__}, not an object")
    return result


def _require_nested_true(result: Any, method: str) -> None:
    # contract §8.1: success is {"result": {"result": true}}; the failure forms are caught by classify().
    ok = result.get("result") if isinstance(result, Mapping) else result
    if ok is not True:
        raise PermanentError("UNEXPECTED_ANSWER", f"{method} did not report success")


def _require_success(result: Any, method: str) -> None:
    # contract §8.10–§8.12: {"SUCCESS": true, "DATA": ...}.
    if not (isinstance(result, Mapping) and _truthy(result.get("SUCCESS"))):
        raise PermanentError("UNEXPECTED_ANSWER", f"{method} did not report SUCCESS")
