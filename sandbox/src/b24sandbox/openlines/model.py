"""Records of the Open Channels state: lines, connectors, statuses, customers, chats, messages.

Plain dataclasses; the rules that change them live in `state.py` and the modules beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# contract §8.1: flags a connector registers with, all default true except CHAT_GROUP.
CONNECTOR_FLAG_DEFAULTS: dict[str, bool] = {
    "DEL_EXTERNAL_MESSAGES": True,
    "EDIT_INTERNAL_MESSAGES": True,
    "DEL_INTERNAL_MESSAGES": True,
    "NEWSLETTER": True,
    "NEED_SYSTEM_MESSAGES": True,
    "NEED_SIGNATURE": True,
    "CHAT_GROUP": False,
}


@dataclass
class Line:
    """An open line (contact-center queue)."""

    line_id: int
    name: str
    active: bool = True
    # contract §9.1: the signature prefix needs this line option on as well as NEED_SIGNATURE.
    show_operator_name: bool = True
    # contract §9.6: `session.close_term`, minutes until a session auto-closes.
    close_term: int = 1440


@dataclass
class Connector:
    """A custom connector registered by an app (contract §8.1)."""

    connector_id: str
    client_id: str
    name: str
    icon: dict[str, Any]
    icon_disabled: dict[str, Any]
    placement_handler: str
    flags: dict[str, bool]
    comment: str = ""

    def flag(self, name: str) -> bool:
        """A register flag with its contract default."""
        return self.flags.get(name, CONNECTOR_FLAG_DEFAULTS[name])


@dataclass
class StatusRow:
    """The (connector, line) status row of contract §8.14."""

    connector_id: str
    line_id: int
    active: bool = False
    connection: bool = False
    register: bool = False
    error: bool = False
    data: dict[str, str] = field(default_factory=dict)

    @property
    def configured(self) -> bool:
        """CONFIGURED = ACTIVE ∧ CONNECTION ∧ REGISTER (contract §8.14)."""
        return self.active and self.connection and self.register

    @property
    def status(self) -> bool:
        """STATUS = CONFIGURED ∧ ¬ERROR (contract §8.14)."""
        return self.configured and not self.error


@dataclass
class Customer:
    """The portal user Bitrix24 keeps per `<connector>|<external user id>` (contract §8.7)."""

    user_id: int
    xml_id: str
    name: str
    last_name: str
    profile: dict[str, Any] = field(default_factory=dict)


@dataclass
class StoredFile:
    """A file kept on the portal's disk."""

    file_id: int
    name: str
    mime: str
    content: bytes
    token: str
    width: int | None = None
    height: int | None = None

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.content)

    @property
    def is_image(self) -> bool:
        """Whether the chat renders it inline (contract §9.1 `type: image`)."""
        return self.width is not None


@dataclass
class Session:
    """An open-lines session of one chat (contract §9.6)."""

    session_id: int
    chat_id: int
    parent_id: int
    closed: bool = False


@dataclass
class Chat:
    """The Bitrix24 chat of one (line, connector, external chat[, customer])."""

    chat_id: int
    line_id: int
    connector_id: str
    external_chat_id: str
    customer_user_id: int
    title: str = ""
    description: str = ""
    sessions: list[int] = field(default_factory=list)


Direction = Literal["in", "out"]


@dataclass
class Message:
    """A message of a Bitrix24 chat: from the customer ("in") or from an operator ("out")."""

    message_id: int
    chat_id: int
    session_id: int
    direction: Direction
    author_id: int
    text: str
    file_ids: list[int] = field(default_factory=list)
    # contract §8.7/§8.10: external ids the connector gave this message.
    connector_mid: list[str] = field(default_factory=list)
    delivered: bool = False
    deleted: bool = False
    edits: list[str] = field(default_factory=list)
    created_at: float = 0.0
