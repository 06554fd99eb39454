"""State of the Open Channels side of the portal (contract §8.14 and §9).

`OpenLines` holds every record and the rules for lines, connectors and their (connector, line) status
rows. Conversations (customers, chats, sessions, messages) are handled by `conversations.py`, the
operator's side by `operator.py`; both work on the containers kept here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from b24sandbox.openlines import notify, persist
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
from b24sandbox.openlines.variants import Variants

if TYPE_CHECKING:
    from b24sandbox.portal import Portal

# contract §8.6: `imconnector.list` also shows the portal's built-in connectors.
BUILTIN_CONNECTORS: dict[str, str] = {
    "livechat": "Live Chat",
    "telegrambot": "Telegram",
    "network": "Bitrix24.Network",
}


class UnknownLineError(LookupError):
    """No line with that id."""


class OpenLines:
    """Lines, registered connectors, (connector, line) statuses, chats, sessions and messages."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.variants = Variants()
        self.lines: dict[int, Line] = {}
        self.connectors: dict[str, Connector] = {}
        self.statuses: dict[tuple[str, int], StatusRow] = {}
        self.customers: dict[str, Customer] = {}
        self.chats: dict[int, Chat] = {}
        # (line, connector, external chat id, customer user id or 0 for CHAT_GROUP) → chat id
        self.chat_index: dict[tuple[int, str, str, int], int] = {}
        # (line, connector, external chat id) → newest chat id, for operator actions addressed that way
        self.latest_chat: dict[tuple[int, str, str], int] = {}
        self.sessions: dict[int, Session] = {}
        self.messages: dict[int, Message] = {}
        self.chat_messages: dict[int, list[int]] = {}
        self.files: dict[int, StoredFile] = {}
        # Ids start at plausible portal-sized numbers so they never collide with small test literals.
        self.line_ids = persist.IdSequence(1)
        self.user_ids = persist.IdSequence(500)
        self.chat_ids = persist.IdSequence(1700)
        self.session_ids = persist.IdSequence(300)
        self.message_ids = persist.IdSequence(85000)
        self.file_ids = persist.IdSequence(4000)
        self.add_line("Sandbox line")

    def to_json(self) -> dict[str, Any]:
        """The state as JSON-ready data (for `snapshot.py`)."""
        return persist.to_json(self)

    def load_json(self, state: dict[str, Any]) -> None:
        """Replace the state with a `to_json` result."""
        persist.load_json(self, state)

    # ---- lines -------------------------------------------------------------------------------

    def add_line(self, name: str, *, active: bool = True) -> Line:
        """Create a line with the next id."""
        line = Line(next(self.line_ids), name, active)
        self.lines[line.line_id] = line
        return line

    def get_line(self, line_id: int) -> Line:
        """The line with that id, or UnknownLineError."""
        try:
            return self.lines[line_id]
        except KeyError:
            raise UnknownLineError(line_id) from None

    def delete_line(self, line_id: int, *, user_id: int | None) -> None:
        """Delete a line: its status rows go first (StatusDelete each), then LineDelete to every app."""
        self.get_line(line_id)
        for connector_id, row_line in [key for key in self.statuses if key[1] == line_id]:
            self.delete_status(connector_id, row_line, user_id=user_id)
        del self.lines[line_id]
        # contract §9.4: `data` is the line id as a scalar and there is no ownership filter.
        self.portal.events.fire("ONIMCONNECTORLINEDELETE", line_id, owner_client_id=None, user_id=user_id)

    # ---- connectors --------------------------------------------------------------------------

    def save_connector(self, connector: Connector) -> None:
        """Register or update (same id) a connector (contract §8.1: re-register = update)."""
        self.connectors[connector.connector_id] = connector

    def find_connector(self, connector_id: str) -> Connector | None:
        """The registered connector with exactly that id (case-sensitive, contract §8.7 step 2)."""
        return self.connectors.get(connector_id)

    def unregister(self, connector_id: str, *, user_id: int | None) -> bool:
        """Delete the connector and its status rows (StatusDelete per line); False if nothing was done."""
        if connector_id not in self.connectors:
            return False
        # contract §8.2 / §14 #15: the source helper refuses a connector that has no status row.
        if self.variants.unregister_needs_status_row and not any(k[0] == connector_id for k in self.statuses):
            return False
        self._drop_connector(connector_id, user_id=user_id)
        return True

    def remove_app(self, client_id: str) -> None:
        """Uninstall: unregister every connector of the app (contract §6.4), no user context."""
        for connector_id in [c.connector_id for c in self.connectors.values() if c.client_id == client_id]:
            self._drop_connector(connector_id, user_id=None)

    def _drop_connector(self, connector_id: str, *, user_id: int | None) -> None:
        # Status rows first: their StatusDelete events need the connector's owner.
        for _, line_id in [key for key in self.statuses if key[0] == connector_id]:
            self.delete_status(connector_id, line_id, user_id=user_id)
        del self.connectors[connector_id]

    def owner_of(self, connector_id: str) -> str | None:
        """The client_id of the app that registered the connector (contract §7.5)."""
        connector = self.connectors.get(connector_id)
        return connector.client_id if connector else None

    # ---- status rows -------------------------------------------------------------------------

    def status_row(self, connector_id: str, line_id: int) -> StatusRow:
        """The (connector, line) row, created with all flags N when missing (contract §8.4)."""
        key = (connector_id, line_id)
        row = self.statuses.get(key)
        if row is None:
            row = self.statuses[key] = StatusRow(connector_id, line_id)
        return row

    def find_status(self, connector_id: str, line_id: int) -> StatusRow | None:
        """The (connector, line) row if it exists."""
        return self.statuses.get((connector_id, line_id))

    def is_active(self, connector_id: str, line_id: int) -> bool:
        """Whether (connector, line) STATUS is true (contract §8.14)."""
        row = self.find_status(connector_id, line_id)
        return row is not None and row.status

    def activate(self, connector_id: str, line_id: int) -> None:
        """A=C=R=Y, E=N (contract §8.3, §14 #2: activate raises all three)."""
        row = self.status_row(connector_id, line_id)
        row.active = row.connection = row.register = True
        row.error = False

    def delete_status(self, connector_id: str, line_id: int, *, user_id: int | None) -> bool:
        """Delete the row and fire StatusDelete to the owning app; False if there was no row."""
        if self.statuses.pop((connector_id, line_id), None) is None:
            return False
        owner = self.owner_of(connector_id)
        if owner is not None:  # contract §7.5: only the owning app; an unregistered id has no owner
            notify.status_delete(self.portal, owner, connector_id, line_id, user_id)
        return True

    def set_data(self, connector_id: str, line_id: int, data: dict[str, Any]) -> None:
        """Store channel data on the row (contract §8.5, merge or overwrite per §14 #3)."""
        row = self.status_row(connector_id, line_id)
        wanted: dict[str, str] = {k: str(data[k]) for k in ("id", "url", "url_im", "name") if k in data}
        if self.variants.data_set_mode == "overwrite":
            row.data = wanted
        else:
            row.data.update({k: v for k, v in wanted.items() if v != ""})

    # ---- lookups shared by conversations and operator actions ---------------------------------

    def messages_of(self, chat_id: int) -> list[Message]:
        """Messages of a chat in order."""
        return [self.messages[m] for m in self.chat_messages.get(chat_id, [])]

    def open_session(self, chat: Chat) -> Session | None:
        """The chat's current session if it is not closed."""
        if not chat.sessions:
            return None
        session = self.sessions[chat.sessions[-1]]
        return None if session.closed else session
