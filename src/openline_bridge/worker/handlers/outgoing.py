"""A stored visitor message as Bitrix24 reads it (contract §8.7): user, message, chat."""

from __future__ import annotations

from openline_bridge.bitrix24.methods import OutgoingFile, OutgoingMessage, Visitor
from openline_bridge.core.filenames import safe_file_name
from openline_bridge.core.visitor_text import clean_name, neutralise_bbcode, split_full_name
from openline_bridge.relay.files import FileSigner
from openline_bridge.store.models import Visitor as StoredVisitor
from openline_bridge.worker.loading import MessageContext

__all__ = ["display_name", "external_message_id", "outgoing_message", "visitor_block"]


def _names(visitor: StoredVisitor) -> tuple[str | None, str | None]:
    if visitor.last_name:
        return clean_name(visitor.name), clean_name(visitor.last_name)
    # contract §8.7: with one field only, split "First Last" ourselves so both obey the name rules
    return split_full_name(visitor.name)


def display_name(visitor: StoredVisitor) -> str | None:
    """The visitor's cleaned full name (the chat's title in Bitrix24), or None when unknown."""
    names = [name for name in _names(visitor) if name]
    return " ".join(names) or None


def visitor_block(visitor: StoredVisitor) -> Visitor:
    """The ``user`` block: the stable external id (pitfall P12) plus whatever profile is known."""
    first, last = _names(visitor)
    return Visitor(
        external_user_id=visitor.external_user_id,
        name=first,
        last_name=last,
        picture_url=visitor.avatar_url,
        email=visitor.email,
        phone=visitor.phone,
    )


def external_message_id(context: MessageContext) -> str:
    """``message.id`` toward Bitrix24, which it keeps as the message's ``CONNECTOR_MID``."""
    message = context.message
    return message.external_message_id or str(message.id)


def outgoing_message(context: MessageContext, signer: FileSigner) -> OutgoingMessage:
    """The ``MESSAGES`` element of a visitor message as it is stored now."""
    message = context.message
    files = []
    for attachment in context.attachments:
        # pitfall P16: Bitrix24 keeps 50 characters of a name and mangles "&"; its URL must be reachable
        name = safe_file_name(attachment.name)
        files.append(OutgoingFile(signer.bitrix_url(attachment.id, name), name))
    return OutgoingMessage(
        visitor=visitor_block(context.where.visitor),
        external_chat_id=context.where.conversation.external_chat_id,
        external_message_id=external_message_id(context),
        text=neutralise_bbcode(message.text) if message.text else None,
        files=tuple(files),
        sent_at=int(message.created_at.timestamp()),
        chat_name=display_name(context.where.visitor),
        chat_url=context.where.conversation.page_url,
    )
