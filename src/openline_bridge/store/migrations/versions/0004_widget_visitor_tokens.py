"""widget: one bearer token per device of a visitor

Revision ID: 0004
Revises: 0003
Created: 2026-11-24 17:35:00

- visitor_tokens: every visitor token issued by ``POST /api/v1/widgets/{key}/sessions`` (docs/protocol.md
  §2.1, §2.2): a signed visitor gets a new token on each device, so one hash per visitor is not enough.
  ``last_used_at`` lets an operator revoke tokens unused for 180 days.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visitor_tokens",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("visitor_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["visitors.id"],
            name=op.f("fk_visitor_tokens_visitor_id_visitors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visitor_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_visitor_tokens_token_hash")),
    )
    with op.batch_alter_table("visitor_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visitor_tokens_visitor_id"), ["visitor_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("visitor_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visitor_tokens_visitor_id"))
    op.drop_table("visitor_tokens")
