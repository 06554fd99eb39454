"""`imopenlines.session.history.get`: the messages of one open-lines session.

Shape from the public docs (`api-reference/imopenlines/openlines/sessions/`
`imopenlines-session-history-get.md`): `message` maps each message id (as text) to `{id, chatid,
senderid, recipientid, date, text, textlegacy, params}`, where `params` is `[]` when a message has none
and carries `connectorMid` (the external ids of contract §8.7/§8.10) when it has them; `usersMessage`
lists the ids newest first. Access: with `SESSION_ID` the caller needs no membership in the chat; with
`CHAT_ID` alone only a participant may read it (`ACCESS_DENIED` otherwise). Connectors use it to learn
which of their messages a chat already holds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from b24sandbox.errors import RestError
from b24sandbox.openlines.model import Chat, Message, Session
from b24sandbox.openlines.params import as_int, upper_keys
from b24sandbox.openlines.state import OpenLines
from b24sandbox.registry import CallContext, rest_method

SCOPE = "imopenlines"

ACCESS_DENIED = RestError(
    "ACCESS_DENIED", "You cannot open this conversation because you do not have sufficient rights.", 400
)


def _params(message: Message) -> dict[str, Any] | list[Any]:
    # PHP serialises an empty params array as [] rather than {}
    return {"connectorMid": list(message.connector_mid)} if message.connector_mid else []


def _message(message: Message) -> dict[str, Any]:
    text = "" if message.deleted else message.text
    return {
        "id": str(message.message_id),
        "chatid": str(message.chat_id),
        "senderid": str(message.author_id),
        "recipientid": f"chat{message.chat_id}",
        "date": datetime.fromtimestamp(message.created_at, UTC).isoformat(timespec="seconds"),
        "text": text,
        "textlegacy": text,
        "params": _params(message),
    }


def _chat(ctx: CallContext, openlines: OpenLines) -> Chat:
    chat_id = as_int(upper_keys(ctx.params).get("CHAT_ID"))
    chat = openlines.chats.get(chat_id)
    if chat is None:
        raise RestError("CHAT_ID", "Chat ID can't be empty", 400)
    return chat


def _session(ctx: CallContext, openlines: OpenLines, chat: Chat) -> Session:
    session_id = as_int(upper_keys(ctx.params).get("SESSION_ID"))
    if session_id:
        session = openlines.sessions.get(session_id)
        if session is None or session.chat_id != chat.chat_id:
            raise ACCESS_DENIED
        return session
    # without SESSION_ID only a participant (the customer or an operator who wrote there) may read the chat
    participants = {chat.customer_user_id} | {m.author_id for m in openlines.messages_of(chat.chat_id)}
    if ctx.user_id not in participants or not chat.sessions:
        raise ACCESS_DENIED
    return openlines.sessions[chat.sessions[-1]]


@rest_method("imopenlines.session.history.get", scope=SCOPE)
async def session_history_get(ctx: CallContext) -> Any:
    """The messages of `SESSION_ID` in `CHAT_ID` (the chat's latest session when only a participant asks)."""
    openlines: OpenLines = ctx.portal.openlines
    chat = _chat(ctx, openlines)
    session = _session(ctx, openlines, chat)
    messages = [m for m in openlines.messages_of(chat.chat_id) if m.session_id == session.session_id]
    newest_first = sorted(messages, key=lambda m: m.message_id, reverse=True)
    return {
        "chatId": chat.chat_id,
        "canJoin": "Y",
        "canVoteHead": "N",
        "sessionId": session.session_id,
        "sessionVoteHead": 0,
        "sessionCommentHead": None,
        "userId": f"chat{chat.chat_id}",
        "message": {str(m.message_id): _message(m) for m in newest_first},
        "usersMessage": {f"chat{chat.chat_id}": [str(m.message_id) for m in newest_first]},
        "users": {},
        "openlines": {},
        "userInGroup": [],
        "woUserInGroup": [],
        "chat": {
            str(chat.chat_id): {
                "id": str(chat.chat_id),
                "name": chat.title,
                "entityType": "LINES",
                "type": "lines",
                "messageType": "L",
            }
        },
        "userBlockChat": {},
        "userInChat": {str(chat.chat_id): [chat.customer_user_id]},
        "files": [],
    }
