"""widget: where the visitor is and which language the visitor reads

Revision ID: 0006
Revises: 0005
Created: 2026-12-04 18:40:00

- conversations.page_url: the page the visitor last opened the chat on (docs/protocol.md §6.1
  ``page_url``); sent to Bitrix24 as the chat's ``url`` (contract §8.7), which the operator sees as the
  chat's description.
- visitors.locale: the visitor's language (protocol §6.1 ``locale``, BCP 47).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("page_url", sa.String(length=2048), nullable=True))
    with op.batch_alter_table("visitors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=35), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("visitors", schema=None) as batch_op:
        batch_op.drop_column("locale")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("page_url")
