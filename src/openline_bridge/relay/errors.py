"""Refusals of the relay use-cases; each carries the visitor protocol's error ``code`` (docs/protocol.md §3)
so a channel maps it to its own wire form without knowing the use-case."""

from __future__ import annotations

from typing import ClassVar

from openline_bridge.errors import BridgeError

__all__ = [
    "AttachmentInUse",
    "EmptyMessage",
    "FileTooLarge",
    "FileTypeNotAllowed",
    "InvalidFile",
    "LinkExpired",
    "MessageNotEditable",
    "MessageTooLong",
    "NotFound",
    "RelayError",
    "TooManyAttachments",
]


class RelayError(BridgeError):
    """A request the relay refuses; ``code`` is stable and machine-readable."""

    code: ClassVar[str] = "validation_error"


class EmptyMessage(RelayError):
    """No text after trimming and no attachments."""

    code = "empty_message"


class MessageTooLong(RelayError):
    """Text longer than the message limit."""

    code = "message_too_long"


class TooManyAttachments(RelayError):
    """More attachments than one message may carry."""

    code = "too_many_attachments"


class NotFound(RelayError):
    """The message or attachment is not in the caller's conversation."""

    code = "not_found"


class MessageNotEditable(RelayError):
    """An operator message, or an edit of a deleted message."""

    code = "message_not_editable"


class AttachmentInUse(RelayError):
    """The attachment already belongs to another message."""

    code = "attachment_in_use"


class FileTooLarge(RelayError):
    """An upload or download larger than the file limit."""

    code = "file_too_large"


class FileTypeNotAllowed(RelayError):
    """The content's detected type is not allowed."""

    code = "file_type_not_allowed"


class InvalidFile(RelayError):
    """An empty or unreadable upload."""

    code = "validation_error"


class LinkExpired(RelayError):
    """A signed file URL that expired or whose signature is wrong."""

    code = "link_expired"
