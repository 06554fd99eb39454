"""Message methods of `imconnector.*`: send/update/delete, delivery/reading, chat name (§8.7-§8.12)."""

from __future__ import annotations

from typing import Any

from b24sandbox.errors import RestError, argument_null
from b24sandbox.openlines import conversations, files
from b24sandbox.openlines.params import (
    as_int,
    as_str,
    lower_keys_deep,
    not_active_line,
    php_array,
    php_empty,
    provider_error,
    require,
    upper_keys,
)
from b24sandbox.openlines.state import OpenLines
from b24sandbox.registry import CallContext, rest_method

SCOPE = "imopenlines"  # contract §14 #16

# contract §8.7 step 4: per-element failures carry error texts, not codes.
NOT_ALL_REQUIRED_DATA = "Not all the required data was transmitted"
NO_TEXT_OR_FILES = "The message must contain text or files"


class _Call:
    """The validated top level of a MESSAGES-style call."""

    def __init__(self, ctx: CallContext, *, needs_active_line: bool) -> None:
        params = upper_keys(ctx.params)
        self.connector_id = as_str(require(params, "CONNECTOR"))
        self.line_id = as_int(require(params, "LINE"))
        raw = require(params, "MESSAGES")
        elements = php_array(raw)
        if elements is None:
            raise RestError(
                "ERROR_ARGUMENT",
                "The value of an argument 'MESSAGES' must be of type array",
                400,
                argument="MESSAGES",
            )
        self.openlines: OpenLines = ctx.portal.openlines
        self.user_id = ctx.user_id
        self.elements = [self._element(e) for e in elements]
        if self.openlines.find_connector(self.connector_id) is None:
            raise provider_error()
        if needs_active_line and not self.openlines.is_active(self.connector_id, self.line_id):
            raise not_active_line()

    @staticmethod
    def _element(element: Any) -> dict[str, Any]:
        if not isinstance(element, dict | list):
            raise RestError(
                "ERROR_ARGUMENT", "The MESSAGES parameter must be an array of messages (arrays)", 400
            )
        lowered = lower_keys_deep(element)
        if not isinstance(lowered, dict) or not {"user", "message", "chat"} <= lowered.keys():
            raise RestError(
                "ERROR_ARGUMENT", "The incorrect structure of a message inside MESSAGES parameter.", 400
            )
        return lowered


def _result(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"SUCCESS": True, "DATA": {"RESULT": items}}  # contract §8.7: top-level SUCCESS stays true


def _identity(element: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None:
    """`user`, `message`, `chat` objects when user.id and chat.id are present (contract §8.7)."""
    user, message, chat = element["user"], element["message"], element["chat"]
    if not isinstance(user, dict) or not isinstance(chat, dict) or not isinstance(message, dict):
        return None
    if php_empty(user.get("id")) or php_empty(chat.get("id")):
        return None
    return user, message, chat


def _failed(element: dict[str, Any], error: str) -> dict[str, Any]:
    return {**element, "SUCCESS": False, "ERRORS": [error]}


def _echo(element: dict[str, Any], customer_id: int, file_ids: list[int] | None) -> dict[str, Any]:
    """The element as the result echoes it: internal user id, `date` → `{}`, `url` → `description`."""
    out = dict(element)
    out["user"] = str(customer_id)
    message = dict(element["message"])
    if "date" in message:
        message["date"] = {}  # contract §8.7: a server DateTime object serialises as {}
    if file_ids is not None:
        message["files"] = file_ids
    message.pop("disable_crm", None)
    out["message"] = message
    chat = dict(element["chat"])
    url = chat.pop("url", None)
    if url:
        chat["description"] = f"Link to the original post: {url}"
    out["chat"] = chat
    extra: dict[str, str] = {}
    if element["user"].get("skip_phone_validate") == "Y":
        extra["skip_phone_validate"] = "Y"
    if element["message"].get("disable_crm") == "Y":
        extra["disable_tracker"] = "Y"
    if extra:
        out["extra"] = extra
    return out


async def _send_one(call: _Call, element: dict[str, Any]) -> dict[str, Any]:
    identity = _identity(element)
    if identity is None:
        return _failed(element, NOT_ALL_REQUIRED_DATA)
    user, message, chat_in = identity
    raw_files = php_array(message.get("files")) or []
    file_ids = await files.download(call.openlines, raw_files) if raw_files else []
    text = as_str(message.get("text"))
    if not text and not file_ids:
        return _failed(element, NO_TEXT_OR_FILES)
    ol = call.openlines
    customer = conversations.customer_for(ol, call.connector_id, user)
    key = conversations.chat_key(ol, call.line_id, call.connector_id, as_str(chat_in["id"]), customer.user_id)
    chat = conversations.chat_for(ol, key, customer.user_id)
    if chat_in.get("name"):
        chat.title = as_str(chat_in["name"])
    if chat_in.get("url"):
        chat.description = as_str(chat_in["url"])
    session = conversations.ensure_session(ol, chat, user_id=call.user_id)
    employee = as_int(message.get("user_id"))
    # contract §8.7: message.user_id names a portal employee the message is posted as.
    as_operator = employee in ol.portal.users
    mid = as_str(message.get("id"))
    conversations.add_message(
        ol,
        chat,
        session,
        direction="out" if as_operator else "in",
        author_id=employee if as_operator else customer.user_id,
        text=text,
        file_ids=file_ids,
        connector_mid=[mid] if mid else [],
    )
    out = _echo(element, customer.user_id, file_ids if "files" in message else None)
    out["SUCCESS"] = True
    out["session"] = {"ID": str(session.session_id), "CHAT_ID": str(chat.chat_id)}
    return out


@rest_method("imconnector.send.messages", scope=SCOPE, app_only=True)
async def send_messages(ctx: CallContext) -> Any:
    """Customer messages into the line (contract §8.7)."""
    call = _Call(ctx, needs_active_line=True)
    return _result([await _send_one(call, e) for e in call.elements])


def _targets(call: _Call, element: dict[str, Any]) -> tuple[dict[str, Any], list[Any], int] | None:
    """Messages an update/delete element addresses, by chat + CONNECTOR_MID (contract §8.8, §8.9)."""
    identity = _identity(element)
    if identity is None:
        return None
    user, message, chat_in = identity
    customer = conversations.customer_for(call.openlines, call.connector_id, user)
    key = conversations.chat_key(
        call.openlines, call.line_id, call.connector_id, as_str(chat_in["id"]), customer.user_id
    )
    chat = conversations.find_chat(call.openlines, key)
    return (
        message,
        conversations.messages_by_mid(call.openlines, chat, as_str(message.get("id"))),
        customer.user_id,
    )


@rest_method("imconnector.update.messages", scope=SCOPE, app_only=True)
async def update_messages(ctx: CallContext) -> Any:
    """Replace the text of customer messages; unknown ids still succeed (contract §8.8)."""
    call = _Call(ctx, needs_active_line=True)
    items: list[dict[str, Any]] = []
    for element in call.elements:
        found = _targets(call, element)
        if found is None:
            items.append(_failed(element, NOT_ALL_REQUIRED_DATA))
            continue
        message, targets, customer_id = found
        text = as_str(message.get("text"))
        if not text and not php_array(message.get("files")):
            items.append(_failed(element, NO_TEXT_OR_FILES))
            continue
        for target in targets:
            target.edits.append(target.text)
            target.text = text
        items.append({**_echo(element, customer_id, None), "SUCCESS": True})
    return _result(items)


@rest_method("imconnector.delete.messages", scope=SCOPE, app_only=True)
async def delete_messages(ctx: CallContext) -> Any:
    """Delete customer messages; unknown ids still succeed (contract §8.9)."""
    call = _Call(ctx, needs_active_line=True)
    items: list[dict[str, Any]] = []
    for element in call.elements:
        found = _targets(call, element)
        if found is None or php_empty(found[0].get("id")):
            items.append(_failed(element, NOT_ALL_REQUIRED_DATA))
            continue
        _, targets, customer_id = found
        for target in targets:
            target.deleted = True
        items.append({**_echo(element, customer_id, None), "SUCCESS": True})
    return _result(items)


def _status_call(ctx: CallContext) -> tuple[OpenLines, list[dict[str, Any]]]:
    """Top-level checks of delivery/reading: no structure or line-status checks (contract §8.10)."""
    params = upper_keys(ctx.params)
    connector_id = as_str(require(params, "CONNECTOR"))
    require(params, "LINE")
    elements = php_array(require(params, "MESSAGES"))
    if elements is None:
        raise argument_null("MESSAGES")
    openlines: OpenLines = ctx.portal.openlines
    if openlines.find_connector(connector_id) is None:
        raise provider_error()
    return openlines, [e for e in (lower_keys_deep(x) for x in elements) if isinstance(e, dict)]


@rest_method("imconnector.send.status.delivery", scope=SCOPE, app_only=True)
async def send_status_delivery(ctx: CallContext) -> Any:
    """Link an operator message to its external ids and mark it delivered (contract §8.10)."""
    openlines, elements = _status_call(ctx)
    for element in elements:
        im = element.get("im") if isinstance(element.get("im"), dict) else {}
        message = element.get("message") if isinstance(element.get("message"), dict) else {}
        target = openlines.messages.get(as_int((im or {}).get("message_id")))
        ids = php_array((message or {}).get("id"))
        if ids is None:
            scalar = as_str((message or {}).get("id"))
            ids = [scalar] if scalar else []
        # contract §16 #16: a foreign or unknown message id is accepted silently.
        if target is not None and ids:
            target.connector_mid = [as_str(i) for i in ids]
            target.delivered = True
    return {"SUCCESS": True, "DATA": []}


@rest_method("imconnector.send.status.reading", scope=SCOPE, app_only=True)
async def send_status_reading(ctx: CallContext) -> Any:
    """A stub in Bitrix24: validated, then nothing happens (contract §8.11)."""
    _status_call(ctx)
    return {"SUCCESS": True, "DATA": []}


@rest_method("imconnector.chat.name.set", scope=SCOPE, app_only=True)
async def chat_name_set(ctx: CallContext) -> Any:
    """Rename the chat of an external chat id (contract §8.12)."""
    params = upper_keys(ctx.params)
    connector_id = as_str(require(params, "CONNECTOR"))
    line_id = as_int(require(params, "LINE"))
    external_chat_id = as_str(require(params, "CHAT_ID"))
    name = as_str(require(params, "NAME"))
    openlines: OpenLines = ctx.portal.openlines
    connector = openlines.find_connector(connector_id)
    if connector is None:
        raise provider_error()
    group = connector.flag("CHAT_GROUP")
    user_external_id = "" if group else as_str(require(params, "USER_ID"))
    if not openlines.is_active(connector_id, line_id):
        raise not_active_line()
    customer = openlines.customers.get(f"{connector_id}|{user_external_id}")
    key = (line_id, connector_id, external_chat_id, 0 if group else (customer.user_id if customer else -1))
    chat = conversations.find_chat(openlines, key)
    if chat is None:
        raise RestError("CHAT_RENAMING_FAILED", "Failed to rename the chat", 400)
    chat.title = name
    return {"SUCCESS": True, "DATA": {"RESULT": {}}}  # contract §8.12: internal object serialises as {}
