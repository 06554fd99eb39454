"""Saving the Open Channels state to JSON and loading it back (used by `snapshot.py`)."""

from __future__ import annotations

import base64
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from b24sandbox.openlines.model import (
    Chat,
    Connector,
    Customer,
    Line,
    Message,
    Session,
    StatusRow,
    StoredFile,
)

if TYPE_CHECKING:
    from b24sandbox.openlines.state import OpenLines

_SEQUENCES = ("line_ids", "user_ids", "chat_ids", "session_ids", "message_ids", "file_ids")


class IdSequence:
    """Increasing ids whose next value can be saved and restored (unlike `itertools.count`)."""

    def __init__(self, start: int) -> None:
        self.next_value = start

    def __next__(self) -> int:
        value = self.next_value
        self.next_value += 1
        return value


def to_json(openlines: OpenLines) -> dict[str, Any]:
    """The whole Open Channels state as JSON-ready data."""
    return {
        "variants": openlines.variants.as_dict(),
        "ids": {name: getattr(openlines, name).next_value for name in _SEQUENCES},
        "lines": [asdict(x) for x in openlines.lines.values()],
        "connectors": [asdict(x) for x in openlines.connectors.values()],
        "statuses": [asdict(x) for x in openlines.statuses.values()],
        "customers": [asdict(x) for x in openlines.customers.values()],
        "chats": [asdict(x) for x in openlines.chats.values()],
        "chat_index": [[*key, chat_id] for key, chat_id in openlines.chat_index.items()],
        "sessions": [asdict(x) for x in openlines.sessions.values()],
        "messages": [asdict(x) for x in openlines.messages.values()],
        "files": [
            {**asdict(x), "content": base64.b64encode(x.content).decode()} for x in openlines.files.values()
        ],
    }


def load_json(openlines: OpenLines, state: dict[str, Any]) -> None:
    """Replace the Open Channels state with what `to_json` produced; ValueError if it is malformed."""
    try:
        _load(openlines, state)
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ValueError(f"malformed Open Channels state: {exc!r}") from None


def _load(openlines: OpenLines, state: dict[str, Any]) -> None:
    openlines.variants.update(state["variants"])
    for name in _SEQUENCES:
        getattr(openlines, name).next_value = int(state["ids"][name])
    openlines.lines = {x["line_id"]: Line(**x) for x in state["lines"]}
    openlines.connectors = {x["connector_id"]: Connector(**x) for x in state["connectors"]}
    openlines.statuses = {(x["connector_id"], x["line_id"]): StatusRow(**x) for x in state["statuses"]}
    openlines.customers = {x["xml_id"]: Customer(**x) for x in state["customers"]}
    openlines.chats = {x["chat_id"]: Chat(**x) for x in state["chats"]}
    openlines.chat_index = {(k[0], k[1], k[2], k[3]): k[4] for k in state["chat_index"]}
    openlines.latest_chat = {}
    for chat in sorted(openlines.chats.values(), key=lambda c: c.chat_id):
        openlines.latest_chat[(chat.line_id, chat.connector_id, chat.external_chat_id)] = chat.chat_id
    openlines.sessions = {x["session_id"]: Session(**x) for x in state["sessions"]}
    openlines.messages = {x["message_id"]: Message(**x) for x in state["messages"]}
    openlines.chat_messages = {chat_id: [] for chat_id in openlines.chats}
    for message in sorted(openlines.messages.values(), key=lambda m: m.message_id):
        openlines.chat_messages.setdefault(message.chat_id, []).append(message.message_id)
    openlines.files = {
        x["file_id"]: StoredFile(**{**x, "content": base64.b64decode(x["content"])}) for x in state["files"]
    }
