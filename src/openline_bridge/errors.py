"""The bridge's exception tree.

Callers catch these types, never driver or library exceptions: lower-level errors are mapped onto
this tree at one boundary (the store maps SQLAlchemy errors, ``bitrix24.errors`` maps HTTP and
Bitrix24 error envelopes).

::

    BridgeError
    ├── ConfigError              configuration missing, malformed or a placeholder (CLI exit 78)
    ├── SecretBoxError           a sealed value cannot be opened (wrong OLB_SECRET_KEY or corrupted)
    ├── StorageError             the database refused or failed an operation
    │   ├── NotFoundError        a row that must exist does not
    │   │   └── PortalNotFound   no portal with this member_id (or it is uninstalled)
    │   └── LeaseTimeout         a lease (e.g. the token-refresh guard) was not acquired in time
    └── (bitrix24.errors)        Bitrix24 REST/OAuth failures, defined in openline_bridge.bitrix24.errors
"""

from __future__ import annotations

__all__ = [
    "BridgeError",
    "ConfigError",
    "LeaseTimeout",
    "NotFoundError",
    "PortalNotFound",
    "SecretBoxError",
    "StorageError",
]


class BridgeError(Exception):
    """Root of every error the bridge raises on purpose."""


class ConfigError(BridgeError):
    """The configuration cannot be used; ``problems`` lists one line per offending setting."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


class SecretBoxError(BridgeError):
    """A sealed secret cannot be opened: the key is not the one that sealed it, or the data is damaged."""


class StorageError(BridgeError):
    """The database refused or failed an operation."""


class NotFoundError(StorageError):
    """A row that the caller requires does not exist."""


class PortalNotFound(NotFoundError):
    """No installed portal has this ``member_id``."""

    def __init__(self, member_id: str) -> None:
        self.member_id = member_id
        super().__init__(f"no installed portal with member_id {member_id!r}")


class LeaseTimeout(StorageError):
    """A lease held by another owner was not released or did not expire within the wait limit."""
