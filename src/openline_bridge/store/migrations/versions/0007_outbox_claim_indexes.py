"""outbox: indexes that keep a claim cheap however long the backlog

Revision ID: 0007
Revises: 0006
Created: 2026-12-04 21:55:00

- ix_outbox_jobs_claimable: the pending and running jobs of a portal in id order (a partial index), which
  a claim walks and leaves at its limit; it sorted every due job of the portal before.
- ix_outbox_jobs_portal_id_ordering_key_status_next_attempt_at replaces
  ix_outbox_jobs_portal_id_ordering_key_status: the test for an earlier job still waiting for its retry
  is a search of it, not a walk over the conversation's earlier jobs.

With 50,000 jobs waiting on one portal a claim took about 1 s on SQLite (and 2 s on PostgreSQL before
its statistics were gathered) before, about 5 ms after (bench/outbox_claim.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_CLAIMABLE = "status IN ('pending', 'running')"


def upgrade() -> None:
    with op.batch_alter_table("outbox_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_jobs_portal_id_ordering_key_status"))
        batch_op.create_index(
            batch_op.f("ix_outbox_jobs_portal_id_ordering_key_status_next_attempt_at"),
            ["portal_id", "ordering_key", "status", "next_attempt_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_outbox_jobs_claimable",
            ["portal_id", "id"],
            unique=False,
            sqlite_where=sa.text(_CLAIMABLE),
            postgresql_where=sa.text(_CLAIMABLE),
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_jobs_claimable")
        batch_op.drop_index(batch_op.f("ix_outbox_jobs_portal_id_ordering_key_status_next_attempt_at"))
        batch_op.create_index(
            batch_op.f("ix_outbox_jobs_portal_id_ordering_key_status"),
            ["portal_id", "ordering_key", "status"],
            unique=False,
        )
