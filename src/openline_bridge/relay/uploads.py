"""Visitor uploads and serving stored files through signed URLs (docs/protocol.md §6.8, §6.9)."""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from openline_bridge.core.filenames import safe_file_name
from openline_bridge.relay.context import Relay
from openline_bridge.relay.errors import InvalidFile, NotFound
from openline_bridge.relay.files import policy_check
from openline_bridge.relay.serialize import attachment_json, parse_public_id, with_attachment_urls
from openline_bridge.store import attachments
from openline_bridge.store.attachments import NewAttachment
from openline_bridge.store.models import Attachment

__all__ = [
    "UNBOUND_UPLOAD_TTL",
    "ServedFile",
    "accept_upload",
    "attachment_for_visitor",
    "open_for_bitrix",
    "open_for_visitor",
    "purge_unbound_uploads",
]

UNBOUND_UPLOAD_TTL = timedelta(hours=24)  # protocol §6.8: an upload no message took within 24 h is removed


@dataclass(frozen=True)
class ServedFile:
    """A stored file ready to be sent: where it is, its detected type and display name."""

    path: Path
    mime_type: str
    name: str
    size: int


def _visitor_json(relay: Relay, attachment: Attachment) -> dict[str, Any]:
    signed: dict[str, Any] = with_attachment_urls(
        {"message": {"attachments": [attachment_json(attachment)]}}, relay.signer.visitor_url
    )
    return dict(signed["message"]["attachments"][0])


async def accept_upload(
    relay: Relay, conversation_id: int, filename: str, chunks: AsyncIterable[bytes]
) -> dict[str, Any]:
    """Store a visitor's file (size and sniffed type limited) and return its Attachment with a fresh URL.

    The display name is shortened to Bitrix24's 50 characters (pitfall P16) so both sides show the same.
    """
    name = safe_file_name(filename or "file")
    policy = relay.file_policy
    stored = await relay.files.save(
        chunks, max_bytes=policy.max_bytes, name=name, accept_type=policy_check(policy)
    )
    if stored.size == 0:
        relay.files.remove(stored.path)
        raise InvalidFile("the file is empty")
    assert stored.mime_type is not None, "policy_check refuses unknown types"
    try:
        async with relay.database.transaction() as session:
            attachment = await attachments.add(
                session,
                NewAttachment(
                    conversation_id=conversation_id,
                    name=name,
                    mime_type=stored.mime_type,
                    size_bytes=stored.size,
                    storage_path=stored.path,
                    sha256=stored.sha256,
                ),
                relay.clock(),
            )
    except BaseException:
        relay.files.remove(stored.path)
        raise
    return _visitor_json(relay, attachment)


async def attachment_for_visitor(relay: Relay, conversation_id: int, attachment_id: str) -> dict[str, Any]:
    """An attachment of the conversation with a fresh URL (protocol §6.8 GET); NotFound otherwise."""
    parsed = parse_public_id(attachment_id)
    async with relay.database.transaction() as session:
        found = (
            None
            if parsed is None
            else await attachments.get_in_conversation(session, conversation_id, parsed)
        )
    if found is None:
        raise NotFound("attachment not found")
    return _visitor_json(relay, found)


async def _served(relay: Relay, attachment_id: int) -> ServedFile:
    async with relay.database.transaction() as session:
        found = await session.get(Attachment, attachment_id)
    if found is None or found.storage_path is None:
        raise NotFound("file not found")
    path = relay.files.path_of(found.storage_path)
    if not path.is_file():
        raise NotFound("file not found")
    return ServedFile(path, found.mime_type, found.name, found.size_bytes)


async def open_for_visitor(relay: Relay, attachment_id: str, exp: str, sig: str) -> ServedFile:
    """The file behind a visitor's signed URL; :class:`LinkExpired` or :class:`NotFound` otherwise."""
    parsed = parse_public_id(attachment_id)
    if parsed is None:
        raise NotFound("file not found")
    relay.signer.verify_visitor(parsed, exp, sig)
    return await _served(relay, parsed)


async def open_for_bitrix(relay: Relay, attachment_id: str, signature: str) -> ServedFile:
    """The file behind the URL given to Bitrix24 in ``send.messages`` (contract §8.7 ``files[].url``)."""
    parsed = parse_public_id(attachment_id)
    if parsed is None:
        raise NotFound("file not found")
    relay.signer.verify_bitrix(parsed, signature)
    return await _served(relay, parsed)


async def purge_unbound_uploads(relay: Relay, older_than: timedelta = UNBOUND_UPLOAD_TTL) -> int:
    """Remove uploads that no message took within ``older_than`` (rows and files); returns how many."""
    async with relay.database.transaction() as session:
        paths = await attachments.delete_unbound_before(session, relay.clock() - older_than)
    for path in paths:
        relay.files.remove(path)
    return len(paths)
