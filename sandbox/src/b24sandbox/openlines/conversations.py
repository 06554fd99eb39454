"""Customers, chats and sessions: what `imconnector.send.messages` creates (contract §8.7, §9.6)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from b24sandbox.openlines import notify
from b24sandbox.openlines.model import Chat, Customer, Message, Session

if TYPE_CHECKING:
    from b24sandbox.openlines.model import Direction
    from b24sandbox.openlines.state import OpenLines


def customer_for(openlines: OpenLines, connector_id: str, user: dict[str, Any]) -> Customer:
    """The portal user of `<connector>|<user.id>`, created or updated (contract §8.7)."""
    xml_id = f"{connector_id}|{user['id']}"
    name = str(user.get("name") or "")
    last_name = str(user.get("last_name") or "")
    # contract §8.7: one space in `name` and no `last_name` → split into first and last name.
    if not last_name and name.count(" ") == 1:
        name, last_name = name.split(" ")
    fields = ("picture", "url", "gender", "email", "phone")
    profile: dict[str, Any] = {k: user[k] for k in fields if k in user}
    found = openlines.customers.get(xml_id)
    if found is None:
        found = Customer(next(openlines.user_ids), xml_id, name or "Guest", last_name, profile)
        openlines.customers[xml_id] = found
    elif name or last_name or profile:
        found.name, found.last_name = name or found.name, last_name or found.last_name
        found.profile.update(profile)
    return found


def chat_key(
    openlines: OpenLines, line_id: int, connector_id: str, external_chat_id: str, user_id: int
) -> tuple[int, str, str, int]:
    """Index key of a chat: per customer, or per external chat alone with CHAT_GROUP (contract §8.1)."""
    connector = openlines.find_connector(connector_id)
    group = connector is not None and connector.flag("CHAT_GROUP")
    return (line_id, connector_id, external_chat_id, 0 if group else user_id)


def find_chat(openlines: OpenLines, key: tuple[int, str, str, int]) -> Chat | None:
    """The chat under that key, if any."""
    chat_id = openlines.chat_index.get(key)
    return openlines.chats[chat_id] if chat_id is not None else None


def chat_for(openlines: OpenLines, key: tuple[int, str, str, int], customer_id: int) -> Chat:
    """The chat under that key, created when missing."""
    chat = find_chat(openlines, key)
    if chat is None:
        line_id, connector_id, external_chat_id, _ = key
        chat = Chat(next(openlines.chat_ids), line_id, connector_id, external_chat_id, customer_id)
        openlines.chats[chat.chat_id] = chat
        openlines.chat_index[key] = chat.chat_id
        openlines.latest_chat[(line_id, connector_id, external_chat_id)] = chat.chat_id
        openlines.chat_messages[chat.chat_id] = []
    return chat


def ensure_session(openlines: OpenLines, chat: Chat, *, user_id: int | None) -> Session:
    """The chat's open session, or a new one (parent = the previous one) announced with DialogStart."""
    session = openlines.open_session(chat)
    if session is not None:
        return session
    parent = chat.sessions[-1] if chat.sessions else 0
    session = Session(next(openlines.session_ids), chat.chat_id, parent)
    openlines.sessions[session.session_id] = session
    chat.sessions.append(session.session_id)
    owner = openlines.owner_of(chat.connector_id)
    line = openlines.lines.get(chat.line_id)
    if owner is not None and line is not None:  # contract §9.6: fired when a session is created
        notify.dialog(openlines.portal, owner, "ONIMCONNECTORDIALOGSTART", chat, session, line, user_id)
    return session


def close_session(openlines: OpenLines, session: Session, *, user_id: int | None) -> None:
    """Close a session and announce it with DialogFinish (contract §9.7)."""
    if session.closed:
        return
    session.closed = True
    chat = openlines.chats[session.chat_id]
    owner = openlines.owner_of(chat.connector_id)
    line = openlines.lines.get(chat.line_id)
    if owner is not None and line is not None:
        notify.dialog(openlines.portal, owner, "ONIMCONNECTORDIALOGFINISH", chat, session, line, user_id)


def add_message(
    openlines: OpenLines,
    chat: Chat,
    session: Session,
    *,
    direction: Direction,
    author_id: int,
    text: str,
    file_ids: list[int],
    connector_mid: list[str],
) -> Message:
    """Append a message to a chat."""
    message = Message(
        message_id=next(openlines.message_ids),
        chat_id=chat.chat_id,
        session_id=session.session_id,
        direction=direction,
        author_id=author_id,
        text=text,
        file_ids=file_ids,
        connector_mid=connector_mid,
        created_at=openlines.portal.clock.now(),
    )
    openlines.messages[message.message_id] = message
    openlines.chat_messages[chat.chat_id].append(message.message_id)
    return message


def messages_by_mid(openlines: OpenLines, chat: Chat | None, mid: str) -> list[Message]:
    """Messages of the chat whose CONNECTOR_MID holds `mid` (contract §8.8, §8.9)."""
    if chat is None or not mid:
        return []
    return [m for m in openlines.messages_of(chat.chat_id) if mid in m.connector_mid and not m.deleted]
