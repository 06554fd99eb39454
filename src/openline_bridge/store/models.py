"""The relational model (SQLAlchemy 2 declarative). Alembic migrations must reproduce it exactly;
``tests/store/test_migrations.py`` compares them on SQLite and PostgreSQL.

Ids crossing a boundary are spelled by side (``bitrix_*`` from Bitrix24, ``external_*`` ours toward Bitrix24,
``client_*`` from the visitor); every ``*_at`` column is an aware UTC timestamp.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from openline_bridge.store.types import BigId, Json, UtcDateTime, str_enum, utc_now

__all__ = [
    "Attachment",
    "Base",
    "Conversation",
    "ConversationEvent",
    "ConversationState",
    "InboxEvent",
    "InboxStatus",
    "InstallState",
    "Line",
    "Message",
    "MessageDirection",
    "MessageStatus",
    "OutboxJob",
    "OutboxStatus",
    "Portal",
    "PortalError",
    "PortalLease",
    "Visitor",
    "VisitorToken",
    "Widget",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with deterministic constraint names (so migrations can drop them by name)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime(), dict[str, Any]: Json}


def _created_at() -> Mapped[datetime]:
    return mapped_column(default=utc_now)


def _updated_at() -> Mapped[datetime]:
    return mapped_column(default=utc_now, onupdate=utc_now)


class InstallState(enum.StrEnum):
    """Where a portal is in its install lifecycle (contract §6)."""

    INSTALLING = "installing"  # tokens stored, connector/event setup not finished yet
    INSTALLED = "installed"  # setup done; events and jobs are processed
    UNINSTALLED = "uninstalled"  # ONAPPUNINSTALL seen (contract §6.4): all work for the portal stops


class Portal(Base):
    """One Bitrix24 account that installed the app; tokens and application_token are sealed (SecretBox)."""

    __tablename__ = "portals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64), unique=True)
    domain: Mapped[str] = mapped_column(String(255))
    client_endpoint: Mapped[str] = mapped_column(String(512))
    server_endpoint: Mapped[str] = mapped_column(String(512))
    client_id: Mapped[str] = mapped_column(String(128))
    access_token_sealed: Mapped[str] = mapped_column(Text)
    refresh_token_sealed: Mapped[str] = mapped_column(Text)
    access_expires_at: Mapped[datetime]
    application_token_sealed: Mapped[str | None] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(1024), default="")
    installed_by_bitrix_user_id: Mapped[int | None] = mapped_column(BigInteger)
    install_state: Mapped[InstallState] = mapped_column(str_enum(InstallState, "install_state"))
    install_finished: Mapped[bool] = mapped_column(Boolean, default=False)
    # Cross-process token-refresh guard (pitfall P27): claimed by an atomic conditional UPDATE.
    refresh_lease_owner: Mapped[str | None] = mapped_column(String(128))
    refresh_lease_expires_at: Mapped[datetime | None]
    last_check_at: Mapped[datetime | None]
    last_check_result: Mapped[dict[str, Any] | None]
    installed_at: Mapped[datetime] = _created_at()
    uninstalled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class Line(Base):
    """An Open Channel of a portal, by Bitrix24 id, with the status Bitrix24 last reported (contract §8.4)."""

    __tablename__ = "lines"
    __table_args__ = (UniqueConstraint("portal_id", "bitrix_line_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    portal_id: Mapped[int] = mapped_column(ForeignKey("portals.id", ondelete="CASCADE"))
    bitrix_line_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(255))
    connect_desired: Mapped[bool] = mapped_column(Boolean, default=False)
    bitrix_configured: Mapped[bool | None] = mapped_column(Boolean)
    bitrix_status: Mapped[bool | None] = mapped_column(Boolean)
    bitrix_error: Mapped[bool | None] = mapped_column(Boolean)
    status_checked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class Widget(Base):
    """A public chat surface bound to one line."""

    __tablename__ = "widgets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id", ondelete="CASCADE"), index=True)
    public_key: Mapped[str] = mapped_column(String(64), unique=True)
    allowed_origins: Mapped[list[str]] = mapped_column(Json, default=list)
    look: Mapped[dict[str, Any]] = mapped_column(default=dict)
    greeting: Mapped[dict[str, Any]] = mapped_column(default=dict)
    identity_secret_sealed: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class Visitor(Base):
    """The person on the external side of one widget."""

    __tablename__ = "visitors"
    __table_args__ = (UniqueConstraint("widget_id", "signed_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    widget_id: Mapped[int] = mapped_column(ForeignKey("widgets.id", ondelete="CASCADE"))
    external_user_id: Mapped[str] = mapped_column(String(64), unique=True)  # user.id toward Bitrix24
    signed_user_id: Mapped[str | None] = mapped_column(String(255))  # the site's own id, proven by signature
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(64))
    avatar_url: Mapped[str | None] = mapped_column(String(1024))
    locale: Mapped[str | None] = mapped_column(String(35))  # BCP 47, as the visitor's client reported it
    created_at: Mapped[datetime] = _created_at()
    last_seen_at: Mapped[datetime] = _created_at()


class VisitorToken(Base):
    """One bearer token of a visitor (docs/protocol.md §2.1): each device of a signed visitor gets its own,
    so the hash of every token issued is kept, not only the first one (``visitors.token_hash``)."""

    __tablename__ = "visitor_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    visitor_id: Mapped[int] = mapped_column(ForeignKey("visitors.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = _created_at()
    last_used_at: Mapped[datetime] = _created_at()


class ConversationState(enum.StrEnum):
    """Whether Bitrix24 has an open session for the conversation (dialog start/finish, contract §9.6)."""

    OPEN = "open"
    CLOSED = "closed"


class Conversation(Base):
    """One visitor ↔ one Bitrix24 open-line chat; ``last_seq`` allocates its event sequence numbers."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("visitor_id", "line_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visitor_id: Mapped[int] = mapped_column(ForeignKey("visitors.id", ondelete="CASCADE"))
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id", ondelete="CASCADE"), index=True)
    external_chat_id: Mapped[str] = mapped_column(String(64), unique=True)  # chat.id toward Bitrix24
    bitrix_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    bitrix_session_id: Mapped[int | None] = mapped_column(BigInteger)
    # the page the visitor last opened the chat on: Bitrix24 shows it to the operator (chat.url, §8.7)
    page_url: Mapped[str | None] = mapped_column(String(2048))
    state: Mapped[ConversationState] = mapped_column(
        str_enum(ConversationState, "conversation_state"), default=ConversationState.OPEN
    )
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # the visitor's read position (protocol §6.6)
    read_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class MessageDirection(enum.StrEnum):
    """Who wrote a message."""

    FROM_VISITOR = "from_visitor"
    FROM_OPERATOR = "from_operator"
    SYSTEM = "system"  # Bitrix24 system messages (NEED_SYSTEM_MESSAGES, contract §8.1)


class MessageStatus(enum.StrEnum):
    """Delivery progress of a message; the visitor's status ticks show the same values."""

    QUEUED = "queued"  # stored and enqueued, not yet accepted by Bitrix24
    SENT = "sent"  # Bitrix24 accepted it (send.messages per-message SUCCESS, contract §8.7)
    RECEIVED = "received"  # an operator message arrived from Bitrix24, not yet shown to the visitor
    DELIVERED = "delivered"  # reached the other side's screen
    READ = "read"  # the other side read it
    FAILED = "failed"  # permanently refused; failure_reason says why


class Message(Base):
    """A message, unique in both directions (client id per conversation, bitrix id per portal).

    ``client_message_id`` is unique per conversation, which is per visitor: a visitor has one conversation
    per line and a widget serves one line.
    """

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "client_message_id"),
        UniqueConstraint("portal_id", "bitrix_message_id"),
        Index(None, "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    portal_id: Mapped[int] = mapped_column(ForeignKey("portals.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[MessageDirection] = mapped_column(str_enum(MessageDirection, "message_direction"))
    author_name: Mapped[str | None] = mapped_column(String(255))
    author_bitrix_user_id: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text, default="")
    parsed: Mapped[dict[str, Any] | None]  # BB-code parsed form of text
    status: Mapped[MessageStatus] = mapped_column(str_enum(MessageStatus, "message_status"))
    client_message_id: Mapped[str | None] = mapped_column(String(64))
    external_message_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    bitrix_message_id: Mapped[int | None] = mapped_column(BigInteger)
    is_edited: Mapped[bool] = mapped_column(Boolean, default=False)
    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    edited_at: Mapped[datetime | None]
    created_seq: Mapped[int | None] = mapped_column(BigInteger)  # seq of its message.created event
    failure_code: Mapped[str | None] = mapped_column(String(32))  # protocol §4.4 failure.code
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class Attachment(Base):
    """A file of a conversation, stored locally (``storage_path``) and/or at Bitrix24 (``bitrix_file_url``).

    A visitor's upload exists before its message (``message_id`` is set when a message takes it); an
    operator file has no ``storage_path`` until its download succeeded (``download_error`` says why not).
    """

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    mime_type: Mapped[str] = mapped_column(String(127))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    storage_path: Mapped[str | None] = mapped_column(String(1024))
    sha256: Mapped[str | None] = mapped_column(String(64))
    bitrix_file_url: Mapped[str | None] = mapped_column(Text)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    download_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()


class ConversationEvent(Base):
    """Append-only log of a conversation; clients catch up by asking for everything after a ``seq``."""

    __tablename__ = "conversation_events"
    __table_args__ = (UniqueConstraint("conversation_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = _created_at()


class OutboxStatus(enum.StrEnum):
    """Life of an outbox job; ``DONE`` and ``DEAD`` are terminal."""

    PENDING = "pending"  # waiting for next_attempt_at
    RUNNING = "running"  # claimed by a dispatcher until locked_until
    PARKED = "parked"  # waits for an outside change (e.g. NOT_ACTIVE_LINE until the line is active again)
    DONE = "done"
    DEAD = "dead"  # gave up; dead_reason says why


# The outbox jobs a claim can take, in the words both the partial index below and the claim query
# (store.outbox._claimable) use: the planner matches the two by their text.
CLAIMABLE_STATUSES = "status IN ('pending', 'running')"


class OutboxJob(Base):
    """A unit of work toward Bitrix24, written in the same transaction as the change that caused it."""

    __tablename__ = "outbox_jobs"
    __table_args__ = (
        UniqueConstraint("portal_id", "idempotency_key"),
        Index(None, "portal_id", "status", "next_attempt_at"),
        # the tests of whether an earlier job of the same conversation blocks a job (store.outbox._claimable)
        Index(None, "portal_id", "ordering_key", "status", "next_attempt_at"),
        # the jobs a claim can take, in id order: a claim walks it and stops at its limit
        Index(
            "ix_outbox_jobs_claimable",
            "portal_id",
            "id",
            sqlite_where=text(CLAIMABLE_STATUSES),
            postgresql_where=text(CLAIMABLE_STATUSES),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    portal_id: Mapped[int] = mapped_column(ForeignKey("portals.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    ordering_key: Mapped[str | None] = mapped_column(
        String(64)
    )  # e.g. "conversation:42"; strict order within
    idempotency_key: Mapped[str] = mapped_column(String(191))
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus, "outbox_status"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = _created_at()
    locked_by: Mapped[str | None] = mapped_column(String(128))
    locked_until: Mapped[datetime | None]
    # set before a call that may deliver the job, cleared with the call's answer: a job claimed with it
    # set may already be in Bitrix24 (pitfall P17) and is checked there before it is sent again
    maybe_sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    dead_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()
    finished_at: Mapped[datetime | None]


class InboxStatus(enum.StrEnum):
    """Life of a received Bitrix24 event; ``PROCESSED`` and ``FAILED`` are terminal."""

    PENDING = "pending"
    PROCESSING = "processing"  # claimed until locked_until; reclaimable after that (crashed worker)
    PROCESSED = "processed"
    FAILED = "failed"


class InboxEvent(Base):
    """A Bitrix24 event as received; ``dedup_key`` makes redeliveries and duplicates no-ops (pitfall P9)."""

    __tablename__ = "inbox_events"
    __table_args__ = (
        UniqueConstraint("portal_id", "dedup_key"),
        Index(None, "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    portal_id: Mapped[int] = mapped_column(ForeignKey("portals.id", ondelete="CASCADE"))
    event_name: Mapped[str] = mapped_column(String(64))
    dedup_key: Mapped[str] = mapped_column(String(191))
    payload: Mapped[dict[str, Any]]
    status: Mapped[InboxStatus] = mapped_column(str_enum(InboxStatus, "inbox_status"))
    locked_by: Mapped[str | None] = mapped_column(String(128))
    locked_until: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = _created_at()
    processed_at: Mapped[datetime | None]


class PortalLease(Base):
    """Which dispatcher owns a portal's outbox (one at a time) until ``expires_at``."""

    __tablename__ = "portal_leases"

    portal_id: Mapped[int] = mapped_column(ForeignKey("portals.id", ondelete="CASCADE"), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(128))
    expires_at: Mapped[datetime]


class PortalError(Base):
    """A recent failure for a portal, shown on the app page's "last errors"."""

    __tablename__ = "portal_errors"
    __table_args__ = (Index(None, "portal_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    portal_id: Mapped[int] = mapped_column(ForeignKey("portals.id", ondelete="CASCADE"))
    occurred_at: Mapped[datetime] = _created_at()
    origin: Mapped[str] = mapped_column(String(64))  # where it happened, e.g. "worker.send_messages"
    code: Mapped[str] = mapped_column(String(128))
    message: Mapped[str] = mapped_column(Text)
