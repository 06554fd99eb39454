"""What every relay use-case needs, built once by the application (``services``) and passed in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from openline_bridge.relay.files import FilePolicy, FileSigner, FileStore
from openline_bridge.relay.notify import Notifier
from openline_bridge.store.database import Database
from openline_bridge.store.types import utc_now

__all__ = ["MESSAGE_MAX_CHARS", "Relay"]

MESSAGE_MAX_CHARS = 10_000  # docs/protocol.md §6.1 limits.message_max_chars


@dataclass(frozen=True)
class Relay:
    """The database, live notifications, file store and limits the use-cases share."""

    database: Database
    notifier: Notifier
    files: FileStore
    signer: FileSigner
    file_policy: FilePolicy = field(default_factory=FilePolicy)
    message_max_chars: int = MESSAGE_MAX_CHARS
    clock: Callable[[], datetime] = utc_now
