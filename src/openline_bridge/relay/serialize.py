"""Stored rows → the JSON objects of the visitor protocol (docs/protocol.md §4).

Stored event payloads hold attachments without their signed URL: URLs expire (§4.3), so the channel adds a
fresh one each time it sends a message out (:func:`with_attachment_urls`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from openline_bridge.store.conversation_events import AppendedEvent
from openline_bridge.store.models import Attachment, Message, MessageDirection, MessageStatus

__all__ = [
    "UrlSigner",
    "attachment_json",
    "event_json",
    "event_text",
    "failure_json",
    "message_json",
    "parse_public_id",
    "public_id",
    "status_payload",
    "timestamp",
    "with_attachment_urls",
]

# A signer gives (url, expires_at) for an attachment id and display name (relay.files.FileSigner.visitor_url).
UrlSigner = Callable[[int, str], tuple[str, datetime]]


def timestamp(value: datetime) -> str:
    """ISO 8601 UTC with milliseconds and ``Z`` (protocol §1)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def public_id(value: int) -> str:
    """The opaque string id clients see (protocol §1)."""
    return str(value)


def parse_public_id(value: str) -> int | None:
    """The row id behind a client-supplied id, or None when it cannot be one of ours (→ 404)."""
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        return None
    return int(value)


def attachment_json(attachment: Attachment) -> dict[str, Any]:
    """An Attachment object (protocol §4.3) without its URL; ``available`` is false while the file is
    not stored locally (an operator file whose download has not succeeded yet)."""
    return {
        "id": public_id(attachment.id),
        "name": attachment.name,
        "mime": attachment.mime_type,
        "size": attachment.size_bytes,
        "url": None,
        "url_expires_at": None,
        "width": attachment.width,
        "height": attachment.height,
        "available": attachment.storage_path is not None,
    }


def failure_json(message: Message) -> dict[str, str] | None:
    """``failure`` of a failed message (protocol §4.4), else None."""
    if message.status != MessageStatus.FAILED:
        return None
    return {"code": message.failure_code or "rejected", "message": message.failure_reason or ""}


def _status(message: Message) -> str:
    # An operator message the visitor has not been offered yet is, for the visitor, already delivered.
    return MessageStatus.DELIVERED.value if message.status == MessageStatus.RECEIVED else message.status.value


def _rich(message: Message) -> list[dict[str, Any]] | None:
    # messages.parsed holds {"nodes": <core.bbcode tree>} for operator messages; visitors' stay plain.
    if message.direction == MessageDirection.FROM_VISITOR or message.parsed is None:
        return None
    nodes: list[dict[str, Any]] = message.parsed.get("nodes", [])
    return nodes


def message_json(message: Message, attachments: Sequence[Attachment]) -> dict[str, Any]:
    """A Message object (protocol §4.1); attachments in upload order, URLs left for the channel to add."""
    deleted = message.is_deleted
    return {
        "id": public_id(message.id),
        "client_message_id": message.client_message_id,
        "direction": "visitor" if message.direction == MessageDirection.FROM_VISITOR else "operator",
        "author": {"name": message.author_name, "avatar_url": None},
        "text": "" if deleted else message.text,
        "rich": None if deleted else _rich(message),
        "attachments": []
        if deleted
        else [attachment_json(a) for a in sorted(attachments, key=lambda a: a.id)],
        "status": _status(message),
        "failure": failure_json(message),
        "created_at": timestamp(message.created_at),
        "edited_at": timestamp(message.edited_at) if message.edited_at is not None else None,
        "deleted": deleted,
    }


def status_payload(message: Message) -> dict[str, Any]:
    """The payload of a ``message.status`` event (protocol §4.5)."""
    return {"message_id": public_id(message.id), "status": _status(message), "failure": failure_json(message)}


def event_json(event: AppendedEvent) -> dict[str, Any]:
    """An Event object (protocol §4.5)."""
    return {"seq": event.seq, "kind": event.kind, "at": timestamp(event.at), "payload": event.payload}


def event_text(event: AppendedEvent) -> str:
    """An Event as the JSON text published on the fan-out."""
    return orjson.dumps(event_json(event)).decode("utf-8")


def with_attachment_urls(event: dict[str, Any], sign: UrlSigner) -> dict[str, Any]:
    """A copy of an Event (or of ``{"message": …}``) whose message attachments carry fresh signed URLs."""
    payload = event.get("payload", event)
    message = payload.get("message") if isinstance(payload, dict) else None
    if not isinstance(message, dict) or not message.get("attachments"):
        return event
    signed = []
    for item in message["attachments"]:
        attachment_id = parse_public_id(str(item["id"]))
        if attachment_id is None or not item.get("available", True):
            signed.append(item)
            continue
        url, expires_at = sign(attachment_id, item["name"])
        signed.append({**item, "url": url, "url_expires_at": timestamp(expires_at)})
    new_message = {**message, "attachments": signed}
    if payload is event:
        return {**event, "message": new_message}
    return {**event, "payload": {**payload, "message": new_message}}
