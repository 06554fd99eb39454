"""Loading what a serialised message needs (its attachments) inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.relay.serialize import message_json
from openline_bridge.store import attachments
from openline_bridge.store.models import Message

__all__ = ["message_view"]


async def message_view(session: AsyncSession, message: Message) -> dict[str, Any]:
    """The protocol Message object (§4.1) of a stored message, as it is now."""
    files = await attachments.for_messages(session, [message.id])
    return message_json(message, files[message.id])
