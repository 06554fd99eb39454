"""Attachments: files of a conversation, bound to a message once one takes them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.errors import NotFoundError
from openline_bridge.store.models import Attachment

__all__ = [
    "AttachmentInUse",
    "NewAttachment",
    "add",
    "bind_to_message",
    "delete_unbound_before",
    "for_messages",
    "get",
    "get_in_conversation",
    "record_download",
    "record_download_failure",
]


class AttachmentInUse(Exception):
    """An attachment is already bound to another message (protocol §6.3 ``attachment_in_use``)."""


@dataclass(frozen=True)
class NewAttachment:
    """What is known about a file when it is recorded."""

    conversation_id: int
    name: str
    mime_type: str
    size_bytes: int
    storage_path: str | None = None
    sha256: str | None = None
    bitrix_file_url: str | None = None
    width: int | None = None
    height: int | None = None
    message_id: int | None = None
    download_error: str | None = None


async def add(session: AsyncSession, new: NewAttachment, now: datetime) -> Attachment:
    """Record a file."""
    attachment = Attachment(
        conversation_id=new.conversation_id,
        message_id=new.message_id,
        name=new.name,
        mime_type=new.mime_type,
        size_bytes=new.size_bytes,
        storage_path=new.storage_path,
        sha256=new.sha256,
        bitrix_file_url=new.bitrix_file_url,
        width=new.width,
        height=new.height,
        download_error=new.download_error,
        created_at=now,
    )
    session.add(attachment)
    await session.flush()
    return attachment


async def get(session: AsyncSession, attachment_id: int) -> Attachment:
    """The attachment with this id (NotFoundError otherwise)."""
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFoundError(f"no attachment {attachment_id}")
    return attachment


async def get_in_conversation(
    session: AsyncSession, conversation_id: int, attachment_id: int
) -> Attachment | None:
    """The attachment if it belongs to the conversation."""
    found: Attachment | None = await session.scalar(
        select(Attachment).where(
            Attachment.id == attachment_id, Attachment.conversation_id == conversation_id
        )
    )
    return found


async def bind_to_message(
    session: AsyncSession, conversation_id: int, attachment_ids: Sequence[int], message_id: int
) -> None:
    """Give unbound uploads of the conversation to a message.

    Raises NotFoundError if an id is not the conversation's, :class:`AttachmentInUse` if one is bound already.
    """
    wanted = set(attachment_ids)
    if not wanted:
        return
    rows = (
        await session.execute(
            select(Attachment.id, Attachment.message_id).where(
                Attachment.id.in_(wanted), Attachment.conversation_id == conversation_id
            )
        )
    ).all()
    if len(rows) != len(wanted):
        raise NotFoundError("attachment not in this conversation")
    if any(bound is not None and bound != message_id for _, bound in rows):
        raise AttachmentInUse("attachment already belongs to another message")
    bound_now = await session.execute(
        update(Attachment)
        .where(Attachment.id.in_(wanted), Attachment.message_id.is_(None))
        .values(message_id=message_id)
        .returning(Attachment.id)
    )
    if len(bound_now.all()) != len([1 for _, bound in rows if bound is None]):
        raise AttachmentInUse("attachment was taken by a concurrent message")


async def for_messages(session: AsyncSession, message_ids: Sequence[int]) -> dict[int, list[Attachment]]:
    """Attachments per message, in upload order."""
    result: dict[int, list[Attachment]] = {message_id: [] for message_id in message_ids}
    if not message_ids:
        return result
    rows = await session.scalars(
        select(Attachment).where(Attachment.message_id.in_(list(message_ids))).order_by(Attachment.id)
    )
    for row in rows:
        assert row.message_id is not None
        result[row.message_id].append(row)
    return result


async def record_download(
    session: AsyncSession, attachment_id: int, storage_path: str, sha256: str, size_bytes: int, mime_type: str
) -> None:
    """An operator file is now stored locally."""
    await session.execute(
        update(Attachment)
        .where(Attachment.id == attachment_id)
        .values(
            storage_path=storage_path,
            sha256=sha256,
            size_bytes=size_bytes,
            mime_type=mime_type,
            download_error=None,
        )
    )


async def record_download_failure(session: AsyncSession, attachment_id: int, reason: str) -> None:
    """Why an operator file could not be fetched (yet)."""
    await session.execute(
        update(Attachment).where(Attachment.id == attachment_id).values(download_error=reason)
    )


async def delete_unbound_before(session: AsyncSession, before: datetime) -> list[str]:
    """Forget uploads no message took before ``before`` (protocol §6.8: 24 h); returns their file paths."""
    rows = (
        await session.execute(
            delete(Attachment)
            .where(Attachment.message_id.is_(None), Attachment.created_at < before)
            .returning(Attachment.storage_path)
        )
    ).all()
    return [path for (path,) in rows if path is not None]
