"""relay: read position, edit time, failure code, attachments owned by conversations

Revision ID: 0003
Revises: 0001
Created: 2026-11-24 17:10:00

- conversations.read_seq: the visitor's read position (docs/protocol.md §5, §6.6)
- messages.edited_at, created_seq, failure_code: protocol §4.1 ``edited_at``, §6.3 the ``seq`` a replayed
  message answers with, §4.4 ``failure.code``
- attachments: a visitor upload exists before its message (message_id nullable) and belongs to a
  conversation; width/height (protocol §4.3); download_error for operator files not fetched yet
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("read_seq", sa.BigInteger(), nullable=False, server_default="0"))
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.alter_column("read_seq", server_default=None)

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("created_seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("failure_code", sa.String(length=32), nullable=True))

    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("conversation_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("width", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("height", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("download_error", sa.Text(), nullable=True))
    op.execute(
        "UPDATE attachments SET conversation_id = "
        "(SELECT messages.conversation_id FROM messages WHERE messages.id = attachments.message_id)"
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.alter_column("conversation_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column(
            "message_id", existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_attachments_conversation_id_conversations"),
            "conversations",
            ["conversation_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(batch_op.f("ix_attachments_conversation_id"), ["conversation_id"], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM attachments WHERE message_id IS NULL")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_conversation_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_attachments_conversation_id_conversations"), type_="foreignkey"
        )
        batch_op.alter_column(
            "message_id", existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        )
        batch_op.drop_column("download_error")
        batch_op.drop_column("height")
        batch_op.drop_column("width")
        batch_op.drop_column("conversation_id")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("failure_code")
        batch_op.drop_column("created_seq")
        batch_op.drop_column("edited_at")

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("read_seq")
