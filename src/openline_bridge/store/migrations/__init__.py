"""Alembic migrations of the bridge schema; run them with ``openline-bridge migrate``."""
