"""Bitrix24 → visitor: operator messages, edits, deletes and session changes from the inbox.

``process_batch`` takes claimed inbox events (the lifecycle processor leaves message and dialog events for it)
and applies them in order, a few per transaction: each transaction appends the conversation events, enqueues
the outbox jobs and marks its inbox events processed, so a crash anywhere repeats a whole transaction's events
or none of them. Sharing a commit among several events is what lets a burst of operator messages reach the
visitors quickly; keeping the group small keeps the database's write lock short for the visitor messages that
wait on it (SQLite has one writer). Duplicates and reordering are harmless: an operator message is unique per
(portal, ``im.message_id``) (pitfall P9), and session events never move a conversation back to an older
session.

Operator files are downloaded before that transaction (bounded; ``relay.downloads``); one that cannot be
fetched is stored as unavailable and :func:`retry_unavailable_files` tries again later.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.bitrix24.errors import MalformedEvent
from openline_bridge.bitrix24.events import (
    DialogFinish,
    DialogSession,
    DialogStart,
    EditedMessage,
    EventFile,
    MessageAdd,
    MessageDelete,
    MessageUpdate,
    OperatorMessage,
    parse_event,
)
from openline_bridge.core import bbcode
from openline_bridge.core.filenames import safe_file_name
from openline_bridge.core.signature import split_signature
from openline_bridge.errors import BridgeError
from openline_bridge.logging import get_logger
from openline_bridge.relay.context import Relay
from openline_bridge.relay.downloads import DownloadFailed, OperatorFiles, PortalRef
from openline_bridge.relay.files import StoredFile
from openline_bridge.relay.serialize import message_json
from openline_bridge.relay.status import change_status
from openline_bridge.relay.views import message_view
from openline_bridge.store import attachments, conversations, inbox, messages
from openline_bridge.store.attachments import NewAttachment
from openline_bridge.store.conversation_events import append_event
from openline_bridge.store.inbox import InboxItem
from openline_bridge.store.messages import NewOperatorMessage
from openline_bridge.store.models import (
    Attachment,
    Conversation,
    ConversationState,
    Message,
    MessageDirection,
    MessageStatus,
    Portal,
)
from openline_bridge.worker import jobs

__all__ = ["EVENTS_PER_TRANSACTION", "ClaimLost", "process", "process_batch", "retry_unavailable_files"]

_log = get_logger(__name__)


class ClaimLost(BridgeError):
    """Another processor reclaimed the inbox event; this attempt's changes are rolled back."""


@dataclass(frozen=True)
class _Fetched:
    file: EventFile
    stored: StoredFile | None
    error: str | None


@dataclass(frozen=True)
class _Incoming:
    conversation: Conversation
    message: OperatorMessage
    files: tuple[_Fetched, ...]


# about 2-4 ms of work each: a group shares one commit and holds the write lock some 10-30 ms at most
EVENTS_PER_TRANSACTION = 8

Event = MessageAdd | MessageUpdate | MessageDelete | DialogStart | DialogFinish
Fetched = dict[int, tuple[_Fetched, ...]]  # files of new operator messages, by Bitrix24 message id
Chats = dict[tuple[int, str], Conversation]  # conversations by (portal id, external chat id)


async def process(relay: Relay, files: OperatorFiles, item: InboxItem, owner: str) -> None:
    """Apply one claimed inbox event and mark it processed (or failed with the reason if malformed);
    :class:`ClaimLost` if another processor reclaimed it meanwhile (nothing is then applied)."""
    await _apply(relay, files, [item], owner)


async def process_batch(relay: Relay, files: OperatorFiles, items: Sequence[InboxItem], owner: str) -> None:
    """Apply claimed inbox events in their order, up to ``EVENTS_PER_TRANSACTION`` per transaction.

    If one of a transaction's events was reclaimed by another processor meanwhile, that transaction is
    rolled back as a whole (nothing of it was published) and its events are applied one transaction each,
    skipping the reclaimed ones.
    """
    for start in range(0, len(items), EVENTS_PER_TRANSACTION):
        group = items[start : start + EVENTS_PER_TRANSACTION]
        try:
            await _apply(relay, files, group, owner)
        except ClaimLost as exc:
            if len(group) == 1:
                _log.warning("relay.inbox_claim_lost", inbox_id=group[0].id, error=str(exc))
                continue
            for item in group:
                await process_batch(relay, files, [item], owner)


async def _apply(relay: Relay, files: OperatorFiles, items: Sequence[InboxItem], owner: str) -> None:
    now = relay.clock()
    parsed = [(item, _parse(item)) for item in items]
    # Files are fetched before the transaction (slow network); text-only batches fetch nothing.
    fetched: Fetched = {}
    for item, event in parsed:
        if isinstance(event, MessageAdd) and any(m.files for m in event.messages):
            fetched.update(await _download(relay, files, item.portal_id, event))
    try:
        async with relay.notifier.transaction(relay.database, brief=True) as session:
            chats = await _chats_of(session, parsed)
            for item, event in parsed:
                await _apply_one(relay, session, item, owner, event, chats, fetched, now)
            applied = [item.id for item, event in parsed if not isinstance(event, str)]
            if not await inbox.mark_processed_many(session, applied, owner, now):
                raise ClaimLost(f"one of the inbox events {applied} was reclaimed by another processor")
    except BaseException:
        # the attachments that would have owned them were rolled back: a retry fetches them again
        for stored in (f.stored for files_of in fetched.values() for f in files_of):
            if stored is not None:
                relay.files.remove(stored.path)
        raise


async def _chats_of(session: AsyncSession, parsed: Sequence[tuple[InboxItem, Event | str]]) -> Chats:
    """The conversations the group's operator messages go to, read in one query per portal."""
    wanted: dict[int, set[str]] = defaultdict(set)
    for item, event in parsed:
        if isinstance(event, MessageAdd):
            wanted[item.portal_id].update(message.external_chat_id for message in event.messages)
    chats: Chats = {}
    for portal_id, chat_ids in wanted.items():
        found = await conversations.find_by_external_chats(session, portal_id, chat_ids)
        chats.update(((portal_id, chat_id), conversation) for chat_id, conversation in found.items())
    return chats


def _parse(item: InboxItem) -> Event | str:
    """The event, or why it cannot be applied."""
    try:
        event = parse_event(item.payload)
    except MalformedEvent as exc:
        return str(exc)
    if not isinstance(event, MessageAdd | MessageUpdate | MessageDelete | DialogStart | DialogFinish):
        return f"{item.event_name} is not a message or dialog event"
    return event


async def _apply_one(
    relay: Relay,
    session: AsyncSession,
    item: InboxItem,
    owner: str,
    event: Event | str,
    chats: Chats,
    fetched: Fetched,
    now: datetime,
) -> None:
    if isinstance(event, str):
        _log.warning(
            "relay.inbox_event_failed", inbox_event_id=item.id, event_name=item.event_name, reason=event
        )
        if not await inbox.mark_failed(session, item.id, owner, event, now):
            raise ClaimLost(f"inbox event {item.id} was reclaimed by another processor")
        return
    if isinstance(event, MessageAdd):
        await _message_add(relay, session, item.portal_id, event, chats, fetched, now)
    elif isinstance(event, MessageUpdate):
        await _message_update(session, item.portal_id, event.messages, now)
    elif isinstance(event, MessageDelete):
        await _message_delete(
            session, item.portal_id, [i for m in event.messages for i in m.external_message_ids], now
        )
    else:
        await _dialog(session, item.portal_id, event.sessions, opened=isinstance(event, DialogStart), now=now)


# ---------------------------------------------------------------------------------------------------
# ONIMCONNECTORMESSAGEADD


async def _message_add(
    relay: Relay,
    session: AsyncSession,
    portal_id: int,
    event: MessageAdd,
    chats: Chats,
    fetched: Fetched,
    now: datetime,
) -> None:
    for message in event.messages:
        conversation = chats.get((portal_id, message.external_chat_id))
        if conversation is None:
            _log.warning("relay.unknown_chat", portal_id=portal_id, chat_id=message.external_chat_id)
            continue
        incoming = _Incoming(conversation, message, fetched.get(message.bitrix_message_id, ()))
        await _store_operator_message(relay, session, portal_id, incoming, now)


async def _download(
    relay: Relay, files: OperatorFiles, portal_id: int, event: MessageAdd
) -> dict[int, tuple[_Fetched, ...]]:
    """The files of the event's messages not stored yet, by Bitrix24 message id."""
    async with relay.database.transaction() as session:
        portal = await session.get(Portal, portal_id)
        assert portal is not None, "inbox rows cascade with their portal"
        new = [
            message
            for message in event.messages
            if message.files
            and await messages.find_by_bitrix_id(session, portal_id, message.bitrix_message_id) is None
        ]
    ref = PortalRef(portal.member_id, portal.client_endpoint)
    return {m.bitrix_message_id: tuple([await _fetch(files, ref, f) for f in m.files]) for m in new}


async def _fetch(files: OperatorFiles, portal: PortalRef, file: EventFile) -> _Fetched:
    try:
        return _Fetched(file, await files.fetch(portal, file), None)
    except DownloadFailed as exc:
        _log.warning("relay.operator_file_unavailable", link_host=portal.host, reason=exc.reason)
        return _Fetched(file, None, exc.reason)


def _operator_text(raw: str) -> tuple[str | None, str, dict[str, object]]:
    # contract §9.1 / pitfall P20: the signature names the author and is not part of the text.
    signed = split_signature(raw)
    nodes = bbcode.parse(signed.text)
    return signed.author_name, bbcode.plain_text(nodes), {"nodes": nodes}


async def _store_operator_message(
    relay: Relay, session: AsyncSession, portal_id: int, new: _Incoming, now: datetime
) -> None:
    author, text, parsed = _operator_text(new.message.text)
    author_id = new.message.author_bitrix_user_id
    conversation = new.conversation
    stored = await messages.insert_operator_message(
        session,
        NewOperatorMessage(
            portal_id=portal_id,
            conversation_id=conversation.id,
            # contract §9.1: system messages come without an author (NEED_SYSTEM_MESSAGES)
            direction=MessageDirection.FROM_OPERATOR if author_id else MessageDirection.SYSTEM,
            bitrix_message_id=new.message.bitrix_message_id,
            author_bitrix_user_id=author_id,
            author_name=author,
            text=text,
            parsed=parsed,
        ),
        now,
    )
    if stored is None:  # a duplicate (pitfall P9): already stored, files fetched again are not needed
        for fetched in new.files:
            if fetched.stored is not None:
                relay.files.remove(fetched.stored.path)
        return
    added = [
        await attachments.add(session, _attachment(conversation.id, stored.id, f), now) for f in new.files
    ]
    if conversation.bitrix_chat_id is None:
        await conversations.record_bitrix_ids(
            session, conversation.id, now, bitrix_chat_id=new.message.bitrix_chat_id
        )
    # protocol §4.4: a visitor message counts as read once an operator posted after it.
    for earlier in await messages.visitor_messages_awaiting_reply(session, conversation.id):
        await change_status(session, earlier, MessageStatus.READ, now=now)
    payload = {"message": message_json(stored, added)}
    stored.created_seq = await append_event(session, conversation.id, "message.created", payload, now=now)
    await jobs.confirm_delivery(
        session, portal_id=portal_id, conversation_id=conversation.id, message_id=stored.id, now=now
    )


def _attachment(conversation_id: int, message_id: int, fetched: _Fetched) -> NewAttachment:
    file, stored = fetched.file, fetched.stored
    return NewAttachment(
        conversation_id=conversation_id,
        message_id=message_id,
        name=_display_name(file.name),
        mime_type=(stored.mime_type if stored else None) or file.mime or "application/octet-stream",
        size_bytes=stored.size if stored else (file.size or 0),
        storage_path=stored.path if stored else None,
        sha256=stored.sha256 if stored else None,
        bitrix_file_url=file.link,
        width=file.width,
        height=file.height,
        download_error=fetched.error,
    )


def _display_name(raw: str) -> str:
    return safe_file_name(raw, limit=255)  # shown to the visitor only; Bitrix24's 50-char rule is for uploads


# ---------------------------------------------------------------------------------------------------
# ONIMCONNECTORMESSAGEUPDATE / DELETE (ids are the external ids we confirmed, contract §9.2, §9.3)


async def _message_update(
    session: AsyncSession, portal_id: int, edits: Sequence[EditedMessage], now: datetime
) -> None:
    for edit in edits:
        author, text, parsed = _operator_text(edit.text)
        for message in await _live_operator_messages(session, portal_id, edit.external_message_ids):
            if message.parsed == parsed and message.text == text:
                continue  # a duplicate edit changes nothing
            message.text, message.parsed = text, parsed
            message.author_name = author or message.author_name
            message.is_edited, message.edited_at, message.updated_at = True, now, now
            await _publish(session, message, "message.edited", now)


async def _message_delete(
    session: AsyncSession, portal_id: int, external_ids: Sequence[str], now: datetime
) -> None:
    for message in await _live_operator_messages(session, portal_id, external_ids):
        message.is_deleted, message.updated_at = True, now
        await _publish(session, message, "message.deleted", now)


async def _live_operator_messages(
    session: AsyncSession, portal_id: int, external_ids: Sequence[str]
) -> list[Message]:
    """The operator's messages among `external_ids` not deleted yet: those an edit or a delete applies to."""
    found = await messages.find_by_external_ids(session, portal_id, external_ids)
    return [m for m in found if m.direction != MessageDirection.FROM_VISITOR and not m.is_deleted]


async def _publish(session: AsyncSession, message: Message, kind: str, now: datetime) -> None:
    """Write the message's change and record it, as the visitor will see it, in its conversation's stream."""
    await session.flush()
    await append_event(
        session, message.conversation_id, kind, {"message": await message_view(session, message)}, now=now
    )


# ---------------------------------------------------------------------------------------------------
# ONIMCONNECTORDIALOGSTART / FINISH (contract §9.6, §9.7)


async def _dialog(
    session: AsyncSession, portal_id: int, sessions: Sequence[DialogSession], *, opened: bool, now: datetime
) -> None:
    for dialog in sessions:
        conversation = await conversations.find_by_external_chat(session, portal_id, dialog.external_chat_id)
        if conversation is None:
            _log.warning("relay.unknown_chat", portal_id=portal_id, chat_id=dialog.external_chat_id)
            continue
        if not _applies(conversation, dialog.session_id, opened):
            continue
        state = ConversationState.OPEN if opened else ConversationState.CLOSED
        await conversations.record_bitrix_ids(
            session, conversation.id, now, bitrix_session_id=dialog.session_id
        )
        await conversations.set_state(session, conversation.id, state, now)
        await append_event(
            session, conversation.id, "session.opened" if opened else "session.closed", {}, now=now
        )


def _applies(conversation: Conversation, session_id: int, opened: bool) -> bool:
    current = conversation.bitrix_session_id
    if current is None:
        return True
    if session_id < current:
        return False  # a late event of an older session
    if session_id > current:
        return True
    # same session: only the open → closed step is news (a duplicate start or finish is not)
    return not opened and conversation.state == ConversationState.OPEN


# ---------------------------------------------------------------------------------------------------
# retrying operator files


async def retry_unavailable_files(relay: Relay, files: OperatorFiles, *, limit: int = 20) -> int:
    """Try again to download operator files stored as unavailable; returns how many succeeded.

    Each success appends a ``message.edited`` event carrying the message with the file now available.
    """
    async with relay.database.transaction() as session:
        rows = (
            await session.execute(
                select(Attachment, Message, Portal)
                .join(Message, Message.id == Attachment.message_id)
                .join(Portal, Portal.id == Message.portal_id)
                .where(Attachment.storage_path.is_(None), Attachment.bitrix_file_url.is_not(None))
                .order_by(Attachment.id)
                .limit(limit)
            )
        ).all()
        pending = [
            (a.id, a.name, a.bitrix_file_url, m.id, PortalRef(p.member_id, p.client_endpoint))
            for a, m, p in rows
        ]
    fetched = 0
    for attachment_id, name, link, message_id, ref in pending:
        assert link is not None
        file = EventFile(
            name=name, link=link, type=None, size=None, width=None, height=None, mime=None, download_link=None
        )
        result = await _fetch(files, ref, file)
        now = relay.clock()
        async with relay.notifier.transaction(relay.database) as session:
            if result.stored is None:
                await attachments.record_download_failure(
                    session, attachment_id, result.error or "unavailable"
                )
                continue
            stored = result.stored
            mime = stored.mime_type or "application/octet-stream"
            await attachments.record_download(
                session, attachment_id, stored.path, stored.sha256, stored.size, mime
            )
            await _publish(session, await messages.get(session, message_id), "message.edited", now)
            fetched += 1
    return fetched
