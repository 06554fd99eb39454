"""Request and response bodies of the visitor API as pydantic models: they validate requests and
describe every route in ``/openapi.json`` (docs/protocol.md §4–§6). Unknown request members are ignored
(protocol §1: objects may gain fields)."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

__all__ = [
    "AttachmentReply",
    "ConversationState",
    "EditRequest",
    "EventsPage",
    "MessageReply",
    "MessageRequest",
    "ProfileReply",
    "ProfileRequest",
    "ReadReply",
    "ReadRequest",
    "SessionReply",
    "SessionRequest",
    "VisitorProfile",
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SessionRequest(_Request):
    """protocol §6.1: every member optional; ``user_id`` + ``hash`` form a signed identity (§2.2)."""

    user_id: StrictStr | None = Field(default=None, min_length=1, max_length=128)
    hash: StrictStr | None = Field(default=None, max_length=256)
    name: StrictStr | None = None
    email: StrictStr | None = None
    locale: StrictStr | None = Field(default=None, max_length=35, pattern=r"^[A-Za-z0-9-]+$")
    page_url: StrictStr | None = Field(default=None, max_length=2048)

    @field_validator("page_url")
    @classmethod
    def _web_page(cls, value: str | None) -> str | None:
        # the operator sees it as a link in Bitrix24: only an absolute http(s) address may get there
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("page_url must be an absolute http(s) URL")
        return value


class MessageRequest(_Request):
    """protocol §6.3."""

    client_message_id: StrictStr = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    text: StrictStr = ""
    attachment_ids: list[StrictStr] = Field(default_factory=list)


class EditRequest(_Request):
    """protocol §6.4."""

    text: StrictStr


class ReadRequest(_Request):
    """protocol §6.6."""

    seq: StrictInt = Field(ge=0)


class ProfileRequest(_Request):
    """protocol §6.7: ``null`` clears a member, an absent member stays unchanged."""

    name: StrictStr | None = None
    email: StrictStr | None = None


class VisitorProfile(BaseModel):
    """protocol §6.1 ``visitor``."""

    name: str | None
    email: str | None
    identified: bool


class ConversationState(BaseModel):
    """protocol §5."""

    id: str
    state: Literal["open", "closed"]
    last_seq: int
    read_seq: int


class SessionReply(BaseModel):
    """protocol §6.1 response."""

    token: str
    visitor: VisitorProfile
    conversation: ConversationState
    config: dict[str, Any]
    limits: dict[str, Any]
    live: dict[str, Any]


class EventsPage(BaseModel):
    """protocol §6.2 response; each event is an Event object (§4.5)."""

    events: list[dict[str, Any]]
    last_seq: int
    has_more: bool


class MessageReply(BaseModel):
    """protocol §6.3–§6.5 response: a Message (§4.1) and the seq of the event it caused."""

    message: dict[str, Any]
    seq: int | None


class ReadReply(BaseModel):
    """protocol §6.6 response."""

    read_seq: int


class ProfileReply(BaseModel):
    """protocol §6.7 response."""

    visitor: VisitorProfile


class AttachmentReply(BaseModel):
    """protocol §6.8 response: an Attachment (§4.3) with a fresh signed URL."""

    attachment: dict[str, Any]
