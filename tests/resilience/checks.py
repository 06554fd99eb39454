"""What the resilience tests assert: every acknowledged visitor message is stored by the bridge and sits
in the sandbox exactly once, under its external id (``CONNECTOR_MID``), in sending order per chat."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass

import httpx
from sqlalchemy import select
from tests.resilience.stack import Visitor, sandbox_messages

from openline_bridge.store.database import Database
from openline_bridge.store.models import Conversation, Message


@dataclass(frozen=True)
class Stored:
    """A visitor message as the bridge's database holds it."""

    external_chat_id: str
    external_message_id: str
    status: str


async def stored_messages(database_url: str) -> dict[str, Stored]:
    """Visitor messages in the bridge's database by ``client_message_id`` (unique across these tests)."""
    database = Database.connect(database_url)
    try:
        async with database.transaction() as session:
            rows = await session.execute(
                select(
                    Message.client_message_id,
                    Conversation.external_chat_id,
                    Message.external_message_id,
                    Message.status,
                )
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(Message.client_message_id.is_not(None))
            )
            return {
                str(cmid): Stored(chat, str(external), str(getattr(status, "value", status)))
                for cmid, chat, external, status in rows
            }
    finally:
        await database.dispose()


@dataclass
class Report:
    """The comparison of what visitors were told with what the database and the sandbox hold."""

    acknowledged: int
    missing_in_database: list[str]
    missing_in_sandbox: list[str]
    duplicated_in_sandbox: list[str]
    out_of_order_chats: list[str]

    def summary(self) -> str:
        """Counts, then the first few ids of each problem."""
        problems = {
            "missing in database": self.missing_in_database,
            "missing in sandbox": self.missing_in_sandbox,
            "duplicated in sandbox": self.duplicated_in_sandbox,
            "chats out of order": self.out_of_order_chats,
        }
        parts = [f"{name} {len(ids)}" + (f" {ids[:5]}" if ids else "") for name, ids in problems.items()]
        return f"{self.acknowledged} acknowledged: " + ", ".join(parts)

    @property
    def clean(self) -> bool:
        """Nothing lost, nothing doubled, nothing reordered."""
        return not (
            self.missing_in_database
            or self.missing_in_sandbox
            or self.duplicated_in_sandbox
            or self.out_of_order_chats
        )


async def compare(visitors: list[Visitor], database_url: str, control: httpx.AsyncClient) -> Report:
    """Match every acknowledged message against the bridge's database and the sandbox's chats."""
    stored = await stored_messages(database_url)
    chats = await sandbox_messages(control)
    mids: Counter[str] = Counter()
    position: dict[str, int] = {}
    for messages in chats.values():
        for index, message in enumerate(messages):
            for mid in message["connector_mid"]:
                mids[mid] += 1
                position[mid] = index
    report = Report(0, [], [], [], [])
    for visitor in visitors:
        placed: list[int] = []
        chat = ""
        for message in visitor.acknowledged:
            report.acknowledged += 1
            cmid = message["client_message_id"]
            row = stored.get(cmid)
            if row is None:
                report.missing_in_database.append(cmid)
                continue
            chat = row.external_chat_id
            count = mids[row.external_message_id]
            if count == 0:
                report.missing_in_sandbox.append(cmid)
            elif count > 1:
                report.duplicated_in_sandbox.append(cmid)
            else:
                placed.append(position[row.external_message_id])
        if placed != sorted(placed):
            report.out_of_order_chats.append(chat)
    return report


async def settle(
    visitors: list[Visitor], database_url: str, control: httpx.AsyncClient, *, within: float
) -> Report:
    """Wait (at most ``within`` s) until every acknowledged message reached the sandbox; the final report."""
    deadline = time.monotonic() + within
    while True:
        report = await compare(visitors, database_url, control)
        if not report.missing_in_sandbox or time.monotonic() >= deadline:
            return report
        await asyncio.sleep(1.0)
