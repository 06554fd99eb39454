"""worker: remember which jobs a call may already have delivered

Revision ID: 0005
Revises: 0004
Created: 2026-12-04 18:00:00

- outbox_jobs.maybe_sent_at: set in its own commit just before a ``send.messages`` call carries the job,
  cleared when Bitrix24's answer is recorded. A job that still has it when it is claimed again (the
  process died mid-call, or the answer never came) is checked against the chat's session history before
  it is sent again (docs/worker.md "Exactly once").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("maybe_sent_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_jobs", schema=None) as batch_op:
        batch_op.drop_column("maybe_sent_at")
