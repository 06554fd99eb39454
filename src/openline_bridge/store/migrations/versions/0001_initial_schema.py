"""initial schema

Revision ID: 0001
Revises: (none)
Created: 2026-11-24 16:28:38.047768
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Frozen copies of the model's column types: a migration must not change when the models do.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("client_endpoint", sa.String(length=512), nullable=False),
        sa.Column("server_endpoint", sa.String(length=512), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("access_token_sealed", sa.Text(), nullable=False),
        sa.Column("refresh_token_sealed", sa.Text(), nullable=False),
        sa.Column("access_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("application_token_sealed", sa.Text(), nullable=True),
        sa.Column("scope", sa.String(length=1024), nullable=False),
        sa.Column("installed_by_bitrix_user_id", sa.BigInteger(), nullable=True),
        sa.Column("install_state", sa.String(length=16), nullable=False),
        sa.Column("install_finished", sa.Boolean(), nullable=False),
        sa.Column("refresh_lease_owner", sa.String(length=128), nullable=True),
        sa.Column("refresh_lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_check_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_check_result", JSON, nullable=True),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uninstalled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "install_state IN ('installing', 'installed', 'uninstalled')",
            name=op.f("ck_portals_install_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portals")),
        sa.UniqueConstraint("member_id", name=op.f("uq_portals_member_id")),
    )
    op.create_table(
        "inbox_events",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("portal_id", sa.Integer(), nullable=False),
        sa.Column("event_name", sa.String(length=64), nullable=False),
        sa.Column("dedup_key", sa.String(length=191), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("locked_by", sa.String(length=128), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["portal_id"], ["portals.id"], name=op.f("fk_inbox_events_portal_id_portals"), ondelete="CASCADE"
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'processing', 'processed', 'failed')",
            name=op.f("ck_inbox_events_inbox_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_events")),
        sa.UniqueConstraint("portal_id", "dedup_key", name=op.f("uq_inbox_events_portal_id_dedup_key")),
    )
    with op.batch_alter_table("inbox_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_events_status_id"), ["status", "id"], unique=False)

    op.create_table(
        "lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("portal_id", sa.Integer(), nullable=False),
        sa.Column("bitrix_line_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("connect_desired", sa.Boolean(), nullable=False),
        sa.Column("bitrix_configured", sa.Boolean(), nullable=True),
        sa.Column("bitrix_status", sa.Boolean(), nullable=True),
        sa.Column("bitrix_error", sa.Boolean(), nullable=True),
        sa.Column("status_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["portal_id"], ["portals.id"], name=op.f("fk_lines_portal_id_portals"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lines")),
        sa.UniqueConstraint("portal_id", "bitrix_line_id", name=op.f("uq_lines_portal_id_bitrix_line_id")),
    )
    op.create_table(
        "outbox_jobs",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("portal_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("ordering_key", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", sa.String(length=191), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_by", sa.String(length=128), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("dead_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["portal_id"], ["portals.id"], name=op.f("fk_outbox_jobs_portal_id_portals"), ondelete="CASCADE"
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'parked', 'done', 'dead')",
            name=op.f("ck_outbox_jobs_outbox_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_jobs")),
        sa.UniqueConstraint(
            "portal_id", "idempotency_key", name=op.f("uq_outbox_jobs_portal_id_idempotency_key")
        ),
    )
    with op.batch_alter_table("outbox_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_jobs_portal_id_ordering_key_status"),
            ["portal_id", "ordering_key", "status"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_outbox_jobs_portal_id_status_next_attempt_at"),
            ["portal_id", "status", "next_attempt_at"],
            unique=False,
        )

    op.create_table(
        "portal_errors",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("portal_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("origin", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=128), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["portal_id"], ["portals.id"], name=op.f("fk_portal_errors_portal_id_portals"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_errors")),
    )
    with op.batch_alter_table("portal_errors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_errors_portal_id_occurred_at"), ["portal_id", "occurred_at"], unique=False
        )

    op.create_table(
        "portal_leases",
        sa.Column("portal_id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["portal_id"], ["portals.id"], name=op.f("fk_portal_leases_portal_id_portals"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("portal_id", name=op.f("pk_portal_leases")),
    )
    op.create_table(
        "widgets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("allowed_origins", JSON, nullable=False),
        sa.Column("look", JSON, nullable=False),
        sa.Column("greeting", JSON, nullable=False),
        sa.Column("identity_secret_sealed", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"], ["lines.id"], name=op.f("fk_widgets_line_id_lines"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_widgets")),
        sa.UniqueConstraint("public_key", name=op.f("uq_widgets_public_key")),
    )
    with op.batch_alter_table("widgets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_widgets_line_id"), ["line_id"], unique=False)

    op.create_table(
        "visitors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("widget_id", sa.Integer(), nullable=False),
        sa.Column("external_user_id", sa.String(length=64), nullable=False),
        sa.Column("signed_user_id", sa.String(length=255), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("last_name", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("avatar_url", sa.String(length=1024), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["widget_id"], ["widgets.id"], name=op.f("fk_visitors_widget_id_widgets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visitors")),
        sa.UniqueConstraint("external_user_id", name=op.f("uq_visitors_external_user_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_visitors_token_hash")),
        sa.UniqueConstraint("widget_id", "signed_user_id", name=op.f("uq_visitors_widget_id_signed_user_id")),
    )
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("external_chat_id", sa.String(length=64), nullable=False),
        sa.Column("bitrix_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("bitrix_session_id", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"], ["lines.id"], name=op.f("fk_conversations_line_id_lines"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["visitors.id"],
            name=op.f("fk_conversations_visitor_id_visitors"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("state IN ('open', 'closed')", name=op.f("ck_conversations_conversation_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("external_chat_id", name=op.f("uq_conversations_external_chat_id")),
        sa.UniqueConstraint("visitor_id", "line_id", name=op.f("uq_conversations_visitor_id_line_id")),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conversations_line_id"), ["line_id"], unique=False)

    op.create_table(
        "conversation_events",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_events_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_events")),
        sa.UniqueConstraint(
            "conversation_id", "seq", name=op.f("uq_conversation_events_conversation_id_seq")
        ),
    )
    op.create_table(
        "messages",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("portal_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("author_name", sa.String(length=255), nullable=True),
        sa.Column("author_bitrix_user_id", sa.BigInteger(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("parsed", JSON, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("client_message_id", sa.String(length=64), nullable=True),
        sa.Column("external_message_id", sa.String(length=64), nullable=True),
        sa.Column("bitrix_message_id", sa.BigInteger(), nullable=True),
        sa.Column("is_edited", sa.Boolean(), nullable=False),
        sa.Column("is_deleted", sa.Boolean(), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["portal_id"], ["portals.id"], name=op.f("fk_messages_portal_id_portals"), ondelete="CASCADE"
        ),
        sa.CheckConstraint(
            "direction IN ('from_visitor', 'from_operator', 'system')",
            name=op.f("ck_messages_message_direction"),
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'sent', 'received', 'delivered', 'read', 'failed')",
            name=op.f("ck_messages_message_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint(
            "conversation_id", "client_message_id", name=op.f("uq_messages_conversation_id_client_message_id")
        ),
        sa.UniqueConstraint("external_message_id", name=op.f("uq_messages_external_message_id")),
        sa.UniqueConstraint(
            "portal_id", "bitrix_message_id", name=op.f("uq_messages_portal_id_bitrix_message_id")
        ),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_messages_conversation_id_id"), ["conversation_id", "id"], unique=False
        )

    op.create_table(
        "attachments",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("message_id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("mime_type", sa.String(length=127), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("storage_path", sa.String(length=1024), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("bitrix_file_url", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_attachments_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachments_message_id"), ["message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_message_id"))

    op.drop_table("attachments")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_conversation_id_id"))

    op.drop_table("messages")
    op.drop_table("conversation_events")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_line_id"))

    op.drop_table("conversations")
    op.drop_table("visitors")
    with op.batch_alter_table("widgets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_widgets_line_id"))

    op.drop_table("widgets")
    op.drop_table("portal_leases")
    with op.batch_alter_table("portal_errors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_errors_portal_id_occurred_at"))

    op.drop_table("portal_errors")
    with op.batch_alter_table("outbox_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_jobs_portal_id_status_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_outbox_jobs_portal_id_ordering_key_status"))

    op.drop_table("outbox_jobs")
    op.drop_table("lines")
    with op.batch_alter_table("inbox_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_events_status_id"))

    op.drop_table("inbox_events")
    op.drop_table("portals")
