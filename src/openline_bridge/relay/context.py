"""What every relay use-case needs, built once by the application (``services``) and passed in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.relay.files import FilePolicy, FileSigner, FileStore
from openline_bridge.relay.notify import Notifier
from openline_bridge.relay.visitor_messages import Posted, VisitorMessage, store_batch
from openline_bridge.store.database import Database
from openline_bridge.store.group_commit import GroupCommit, shared_transaction
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
    def visitor_writes(self) -> GroupCommit[VisitorMessage, Posted]:
        """Group commit for visitor messages: concurrent ones share a transaction and its multi-row
        statements (``relay.visitor_messages``), published after it commits. One writer: batches never
        contend for the same conversation rows."""

        async def store(session: AsyncSession, batch: list[VisitorMessage]) -> list[Posted]:
            return await store_batch(session, batch, self.clock())

        return GroupCommit(
            shared_transaction(lambda: self.notifier.transaction(self.database, brief=True), store),
            name="visitor_writes",
        )
