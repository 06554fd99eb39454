"""What every relay use-case needs, built once by the application (``services``) and passed in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from openline_bridge.relay.files import FilePolicy, FileSigner, FileStore
from openline_bridge.relay.notify import Notifier
from openline_bridge.store.database import Database
from openline_bridge.store.group_commit import GroupCommit, SessionWork, in_one_transaction
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

    @cached_property
    def visitor_writes(self) -> GroupCommit[SessionWork[Any], Any]:
        """Group commit for visitor messages: concurrent ones share a transaction (one savepoint each),
        published after it commits. One writer: batches never contend for the same conversation rows."""
        return GroupCommit(
            in_one_transaction(lambda: self.notifier.transaction(self.database)), name="visitor_writes"
        )
