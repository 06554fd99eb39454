"""Connector events the Open Channels side fires (contract §9), with their `data` shapes.

Every function queues one event through `portal.events`; the owner filter of contract §7.5 is applied
by passing the connector's app as `owner_client_id`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from b24sandbox.openlines.model import Chat, Line, Session
    from b24sandbox.portal import Portal


def status_delete(portal: Portal, owner: str, connector_id: str, line_id: int, user_id: int | None) -> None:
    """OnImConnectorStatusDelete: lower-case keys (contract §9.5)."""
    data = {"connector": connector_id, "line": line_id}
    portal.events.fire("ONIMCONNECTORSTATUSDELETE", data, owner_client_id=owner, user_id=user_id)


def dialog(
    portal: Portal, owner: str, event: str, chat: Chat, session: Session, line: Line, user_id: int | None
) -> None:
    """OnImConnectorDialogStart/Finish: inner array key `DATA` (contract §9.6)."""
    block = {
        # contract §9.6: chat_id is the external chat id, user_id the customer's internal B24 user id.
        "connector": {
            "connector_id": chat.connector_id,
            "line_id": chat.line_id,
            "chat_id": chat.external_chat_id,
            "user_id": chat.customer_user_id,
        },
        "session": {
            "id": session.session_id,
            "closed": "Y" if session.closed else "N",
            "parent_id": session.parent_id,
            "close_term": line.close_term,
        },
        "chat": {"id": chat.external_chat_id},
        "user": {"id": chat.customer_user_id},
    }
    data = {"CONNECTOR": chat.connector_id, "LINE": chat.line_id, "DATA": [block]}
    portal.events.fire(event, data, owner_client_id=owner, user_id=user_id)


def messages(
    portal: Portal, owner: str, event: str, chat: Chat, items: list[dict[str, Any]], user_id: int | None
) -> None:
    """OnImConnectorMessageAdd/Update/Delete: key `MESSAGES` (contract §7.5, §9.1-§9.3)."""
    data = {"CONNECTOR": chat.connector_id, "LINE": chat.line_id, "MESSAGES": items}
    portal.events.fire(event, data, owner_client_id=owner, user_id=user_id)
