"""JSON views of the Open Channels state for the control API and the operator console."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from b24sandbox.openlines import files

if TYPE_CHECKING:
    from b24sandbox.openlines.model import Chat, Connector, Customer, Line, Message, StatusRow
    from b24sandbox.openlines.state import OpenLines


def line_view(line: Line) -> dict[str, Any]:
    """A line."""
    return {
        "id": line.line_id,
        "name": line.name,
        "active": line.active,
        "show_operator_name": line.show_operator_name,
        "close_term": line.close_term,
    }


def status_view(row: StatusRow) -> dict[str, Any]:
    """A (connector, line) status row with its predicates."""
    return {
        "connector": row.connector_id,
        "line": row.line_id,
        "active": row.active,
        "connection": row.connection,
        "register": row.register,
        "error": row.error,
        "configured": row.configured,
        "status": row.status,
        "data": dict(row.data),
    }


def connector_view(connector: Connector) -> dict[str, Any]:
    """A registered connector."""
    return {
        "id": connector.connector_id,
        "client_id": connector.client_id,
        "name": connector.name,
        "icon": connector.icon,
        "icon_disabled": connector.icon_disabled,
        "placement_handler": connector.placement_handler,
        "flags": dict(connector.flags),
        "comment": connector.comment,
    }


def message_view(openlines: OpenLines, message: Message) -> dict[str, Any]:
    """A chat message with its delivery, edit and delete state."""
    return {
        "bitrix_message_id": message.message_id,
        "session_id": message.session_id,
        "direction": message.direction,
        "author_id": message.author_id,
        "text": message.text,
        "files": [
            {
                "id": f.file_id,
                "name": f.name,
                "mime": f.mime,
                "size": f.size,
                "width": f.width,
                "height": f.height,
                "link": files.link(openlines, f),
            }
            for f in (openlines.files[i] for i in message.file_ids if i in openlines.files)
        ],
        "connector_mid": list(message.connector_mid),
        "delivered": message.delivered,
        "deleted": message.deleted,
        "edited": bool(message.edits),
        "edits": list(message.edits),
        "created_at": message.created_at,
    }


def conversation_views(openlines: OpenLines) -> list[dict[str, Any]]:
    """Every chat without its messages."""
    customers = {c.user_id: c for c in openlines.customers.values()}
    return [
        conversation_view(openlines, chat, customers.get(chat.customer_user_id), with_messages=False)
        for chat in openlines.chats.values()
    ]


def conversation_view(
    openlines: OpenLines, chat: Chat, customer: Customer | None, *, with_messages: bool
) -> dict[str, Any]:
    """A chat: line, connector, external id, customer, sessions[, messages]."""
    out: dict[str, Any] = {
        "bitrix_chat_id": chat.chat_id,
        "line": chat.line_id,
        "connector": chat.connector_id,
        "external_chat_id": chat.external_chat_id,
        "title": chat.title,
        "description": chat.description,
        "customer": {
            "user_id": chat.customer_user_id,
            "xml_id": customer.xml_id if customer else None,
            "name": customer.name if customer else None,
            "last_name": customer.last_name if customer else None,
        },
        "sessions": [
            {"id": s.session_id, "closed": s.closed, "parent_id": s.parent_id}
            for s in (openlines.sessions[i] for i in chat.sessions)
        ],
    }
    if with_messages:
        out["messages"] = [message_view(openlines, m) for m in openlines.messages_of(chat.chat_id)]
    return out
