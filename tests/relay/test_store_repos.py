"""The visitor and conversation repositories the widget API calls: get-or-create is idempotent under
concurrency and the ids toward Bitrix24 are stable and distinct (pitfalls P12, P13)."""

from __future__ import annotations

import asyncio

from tests.relay.conftest import Chat

from openline_bridge.ids import new_token, token_hash
from openline_bridge.store import conversations, visitors
from openline_bridge.store.database import Database
from openline_bridge.store.types import utc_now


async def test_signed_visitor_is_created_once(database: Database, chat: Chat) -> None:
    async def sign_in() -> tuple[int, bool, str]:
        async with database.transaction() as session:
            visitor, created = await visitors.get_or_create_signed(
                session, chat.widget_id, "site-user-42", token_hash(new_token()), utc_now()
            )
            return visitor.id, created, visitor.external_user_id

    results = await asyncio.gather(*(sign_in() for _ in range(4)))
    assert len({visitor_id for visitor_id, _, _ in results}) == 1
    assert sum(created for _, created, _ in results) == 1
    assert len({external for _, _, external in results}) == 1


async def test_conversation_per_visitor_and_line_is_stable(database: Database, chat: Chat) -> None:
    async def open_conversation() -> tuple[int, str]:
        async with database.transaction() as session:
            conversation = await conversations.get_or_create(
                session, chat.visitor_id, chat.line_id, utc_now()
            )
            return conversation.id, conversation.external_chat_id

    results = await asyncio.gather(*(open_conversation() for _ in range(4)))
    assert set(results) == {(chat.conversation_id, chat.external_chat_id)}
    # pitfall P12: user.id and chat.id never coincide and keep distinct forms
    assert chat.external_chat_id.startswith("c-") and chat.external_user_id.startswith("u-")


async def test_visitor_found_by_token_hash_and_conversation_by_chat_id(
    database: Database, chat: Chat
) -> None:
    token = new_token()
    async with database.transaction() as session:
        created = await visitors.create_anonymous(session, chat.widget_id, token_hash(token), utc_now())
    async with database.transaction() as session:
        found = await visitors.find_by_token_hash(session, token_hash(token))
        assert found is not None and found.id == created.id
        assert await visitors.find_by_token_hash(session, token_hash("other")) is None
        conversation = await conversations.find_by_external_chat(
            session, chat.portal_id, chat.external_chat_id
        )
        assert conversation is not None and conversation.id == chat.conversation_id
        assert (
            await conversations.find_by_external_chat(session, chat.portal_id + 1, chat.external_chat_id)
            is None
        )
