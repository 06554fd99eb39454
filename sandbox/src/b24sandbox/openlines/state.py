"""State of the Open Channels side of the portal (contract §8.14 and §9)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from b24sandbox.portal import Portal


class OpenLines:
    """Lines, registered connectors, (connector, line) statuses, chats, sessions and messages."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
