"""What an operator does in the portal UI, as plain functions (contract §9, §15 "Operator-side simulation").

Used by the control API and the operator console. Errors are `OperatorError` subclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from b24sandbox.openlines import conversations, files, notify

if TYPE_CHECKING:
    from b24sandbox.openlines.model import Chat, Message
    from b24sandbox.openlines.state import OpenLines


class OperatorError(Exception):
    """An operator action that cannot be done."""


class NotFoundError(OperatorError):
    """The line, chat, message, session or status row does not exist."""


class RefusedError(OperatorError):
    """Bitrix24 would refuse the action (e.g. connector STATUS false, contract §8.14)."""


@dataclass(frozen=True)
class UploadedFile:
    """A file the operator attaches."""

    name: str
    content: bytes
    mime: str | None = None


def find_chat(openlines: OpenLines, line_id: int, connector_id: str, external_chat_id: str) -> Chat:
    """The newest chat of (line, connector, external chat id)."""
    chat_id = openlines.latest_chat.get((line_id, connector_id, external_chat_id))
    if chat_id is None:
        raise NotFoundError(f"no chat {external_chat_id!r} of connector {connector_id!r} on line {line_id}")
    return openlines.chats[chat_id]


def _signed(openlines: OpenLines, chat: Chat, operator_id: int, text: str) -> str:
    """Text with the operator signature when the connector and the line want it (contract §9.1)."""
    connector = openlines.find_connector(chat.connector_id)
    line = openlines.lines.get(chat.line_id)
    user = openlines.portal.users.get(operator_id)
    if connector is None or line is None or user is None or not text:
        return text
    if not (connector.flag("NEED_SIGNATURE") and line.show_operator_name):
        return text
    # contract §14 #7: source `[b]Name:[/b][br] `, docs `[b]Name:[/b] [br]`.
    separator = "[br] " if openlines.variants.signature_format == "source" else " [br]"
    return f"[b]{user.full_name}:[/b]{separator}{text}"


def _get_message(openlines: OpenLines, message_id: int) -> Message:
    message = openlines.messages.get(message_id)
    if message is None or message.deleted:
        raise NotFoundError(f"no message {message_id}")
    if message.direction != "out":
        raise RefusedError("only operator messages can be changed here")
    return message


def send(
    openlines: OpenLines,
    chat: Chat,
    *,
    operator_id: int,
    text: str,
    uploads: list[UploadedFile],
) -> Message:
    """Post an operator message and fire MessageAdd to the connector's app (contract §9.1)."""
    if operator_id not in openlines.portal.users:
        raise NotFoundError(f"no operator {operator_id}")
    line = openlines.lines.get(chat.line_id)
    # contract §8.14: refused before sending when STATUS is false or the line is inactive.
    if line is None or not line.active or not openlines.is_active(chat.connector_id, chat.line_id):
        raise RefusedError("the connector is not active on this line")
    if not text and not uploads:
        raise RefusedError("a message needs text or files")
    stored = [files.store(openlines, u.name, u.content, u.mime) for u in uploads]
    session = conversations.ensure_session(openlines, chat, user_id=operator_id)
    message = conversations.add_message(
        openlines,
        chat,
        session,
        direction="out",
        author_id=operator_id,
        text=text,
        file_ids=[f.file_id for f in stored],
        connector_mid=[],
    )
    body: dict[str, Any] = {"user_id": operator_id, "text": _signed(openlines, chat, operator_id, text)}
    if stored:
        body["files"] = [files.event_item(openlines, f) for f in stored]
    item = {
        "im": {"chat_id": chat.chat_id, "message_id": message.message_id},
        "message": body,
        "chat": {"id": chat.external_chat_id},
    }
    owner = openlines.owner_of(chat.connector_id)
    if owner is not None:
        notify.messages(openlines.portal, owner, "ONIMCONNECTORMESSAGEADD", chat, [item], operator_id)
    return message


def edit(openlines: OpenLines, message_id: int, *, text: str, operator_id: int) -> Message:
    """Edit an operator message; MessageUpdate needs CONNECTOR_MID + EDIT_INTERNAL_MESSAGES (§9.2)."""
    message = _get_message(openlines, message_id)
    if not text:
        raise RefusedError("the new text is empty")
    message.edits.append(message.text)
    message.text = text
    chat = openlines.chats[message.chat_id]
    connector = openlines.find_connector(chat.connector_id)
    if connector is not None and message.connector_mid and connector.flag("EDIT_INTERNAL_MESSAGES"):
        item = {
            "im": {"chat_id": chat.chat_id, "message_id": message.message_id},
            "message": {
                "id": list(message.connector_mid),
                "text": _signed(openlines, chat, message.author_id, text),
            },
            "chat": {"id": chat.external_chat_id},
        }
        notify.messages(
            openlines.portal, connector.client_id, "ONIMCONNECTORMESSAGEUPDATE", chat, [item], operator_id
        )
    return message


def delete(openlines: OpenLines, message_id: int, *, operator_id: int) -> Message:
    """Delete an operator message; MessageDelete needs CONNECTOR_MID + DEL_INTERNAL_MESSAGES (§9.3)."""
    message = _get_message(openlines, message_id)
    message.deleted = True
    chat = openlines.chats[message.chat_id]
    connector = openlines.find_connector(chat.connector_id)
    if connector is not None and message.connector_mid and connector.flag("DEL_INTERNAL_MESSAGES"):
        # contract §9.3: one element per external id, `message.id` scalar.
        items = [
            {
                "im": {"chat_id": chat.chat_id, "message_id": message.message_id},
                "message": {"id": mid},
                "chat": {"id": chat.external_chat_id},
            }
            for mid in message.connector_mid
        ]
        notify.messages(
            openlines.portal, connector.client_id, "ONIMCONNECTORMESSAGEDELETE", chat, items, operator_id
        )
    return message


def close_session(openlines: OpenLines, session_id: int, *, operator_id: int) -> None:
    """Close a session (DialogFinish); the next customer message opens a new one (contract §9.7)."""
    session = openlines.sessions.get(session_id)
    if session is None:
        raise NotFoundError(f"no session {session_id}")
    if session.closed:
        raise RefusedError(f"session {session_id} is already closed")
    conversations.close_session(openlines, session, user_id=operator_id)


def disconnect(openlines: OpenLines, line_id: int, connector_id: str, *, operator_id: int) -> None:
    """Turn the connector off on a line in the UI: the row goes, StatusDelete fires (contract §9.5)."""
    if not openlines.delete_status(connector_id, line_id, user_id=operator_id):
        raise NotFoundError(f"connector {connector_id!r} is not connected to line {line_id}")
