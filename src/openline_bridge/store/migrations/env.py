"""Alembic environment: runs on the connection handed over by ``openline_bridge.store.migrate``.

There is no URL here on purpose: configuration is read in one place (settings), so migrations are run with
``openline-bridge migrate`` (or on start-up), never by pointing the alembic CLI at a database.
"""

from __future__ import annotations

from alembic import context

from openline_bridge.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `openline-bridge migrate`; alembic needs a connection from it")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most constraints: later migrations rebuild tables in batch mode.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
