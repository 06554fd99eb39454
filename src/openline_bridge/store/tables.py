"""The Core table of a mapped class, for the hot paths that skip the ORM's per-statement set-up.

A Core statement executed with a list of parameter sets compiles once and is cached whatever the number of
rows, and builds no ORM objects: on the acknowledgement paths (event intake, visitor messages) that set-up
costs more than the statement itself.
"""

from __future__ import annotations

from sqlalchemy import Table

from openline_bridge.store.models import Base

__all__ = ["table_of"]


def table_of(model: type[Base]) -> Table:
    """The ``Table`` a model class is mapped to."""
    table = model.__table__
    assert isinstance(table, Table), f"{model.__name__} is not mapped to a single table"
    return table
