"""The root of the sandbox state: one Bitrix24 portal.

One sandbox process is one portal (domain, member_id). Tests that need several portals start several
sandboxes. The state lives in memory; `snapshot.py` can save it to a file and restore it.

Ownership of the parts:
- `apps`, `users`, tokens and installation: `oauth.py`, `apps.py`
- event bindings and delivery: `events.py` (`Portal.events`)
- lines, connectors, statuses, chats, sessions, messages: `openlines/` (`Portal.openlines`)
- limits and faults: `limits.py`, `faults.py`; the REST call log: `calls.py`
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol

from b24sandbox.calls import CallLog
from b24sandbox.clock import Clock
from b24sandbox.faults import Faults
from b24sandbox.limits import Limits
from b24sandbox.oauth import TokenStore


@dataclass
class User:
    """A Bitrix24 employee (operator or admin)."""

    user_id: int
    name: str
    last_name: str = ""
    is_admin: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.name} {self.last_name}".strip()


@dataclass
class App:
    """A local application registered on the portal (contract §6.1)."""

    client_id: str
    client_secret: str
    name: str
    install_url: str
    handler_url: str
    scope: list[str]
    api_only: bool
    application_token: str = field(default_factory=lambda: secrets.token_hex(16))
    installed: bool = False
    # Contract §6.3: until BX24.installFinish() no events are sent and placements are hidden.
    install_finished: bool = False
    version: str = "1"
    # Contract §7.4/§10: app status `L` (local app) in tokens, events and placement forms.
    status: str = "L"
    # The install session id sent as APP_SID to the install page (contract §6.3);
    # BX24.installFinish quotes it.
    app_sid: str | None = None


@dataclass(frozen=True)
class Webhook:
    """An inbound webhook `/rest/<user_id>/<code>/<method>` (contract §2.1)."""

    user_id: int
    code: str
    scope: list[str]


class EventSink(Protocol):
    """What the rest of the sandbox needs from the event machinery (implemented in events.py)."""

    def fire(self, event: str, data: Any, *, owner_client_id: str | None, user_id: int | None) -> None:
        """Queue an event for every handler bound to it.

        `owner_client_id`: only handlers of that app receive it (contract §7.5 ownership filter);
        None sends it to every app bound to the event. `user_id`: the user whose token goes into
        `auth`; None sends the token-less variant (contract §7.4).
        """


def new_member_id() -> str:
    """A portal id shaped like Bitrix24's (32 hex characters)."""
    return secrets.token_hex(16)


class Portal:
    """One portal's whole state. Built by `server.create_app`, which wires `events` and the rest."""

    def __init__(
        self,
        *,
        domain: str,
        protocol: str,
        events: EventSink | None = None,
        member_id: str | None = None,
        oauth_host: str | None = None,
    ) -> None:
        from b24sandbox.events import EventBus
        from b24sandbox.openlines.state import OpenLines

        self.domain = domain  # host[:port] as Bitrix24 reports it in `domain` and `client_endpoint`
        self.protocol = protocol  # "http" or "https"
        # The OAuth server's host[:port]; None = the portal's own host (the sandbox serves both).
        self.oauth_host = oauth_host
        # Hosts the portal was renamed from: REST calls there get a 302 (contract §2.1).
        self.old_domains: set[str] = set()
        self.member_id = member_id or new_member_id()
        self.clock = Clock()
        self.tokens = TokenStore(self.clock)
        self.webhooks: dict[str, Webhook] = {}
        self.limits = Limits(self.clock)
        self.faults = Faults()
        self.calls = CallLog()
        self.users: dict[int, User] = {
            1: User(1, "Admin", "Sandbox", is_admin=True),
            2: User(2, "Anna", "Operator"),
        }
        self.apps: dict[str, App] = {}
        # The sandbox's own event machinery (bindings, queue, delivery log); `events` is what the
        # rest of the portal fires through, replaceable by a recording fake in unit tests.
        self.bus = EventBus(self)
        self.events: EventSink = events if events is not None else self.bus
        self.openlines = OpenLines(self)

    @property
    def client_endpoint(self) -> str:
        """`https://<portal-domain>/rest/` (contract §2.1)."""
        return f"{self.protocol}://{self.domain}/rest/"

    @property
    def oauth_domain(self) -> str:
        """The OAuth server host, reported as `domain` by the token endpoint (contract §5.2)."""
        return self.oauth_host or self.domain

    @property
    def server_endpoint(self) -> str:
        """`<proto>://<oauth host>/rest/` (contract §5.1: use the host of `server_endpoint`)."""
        return f"{self.protocol}://{self.oauth_domain}/rest/"

    def change_domain(self, new_domain: str) -> None:
        """Rename the portal: REST calls on the old host get a 302 from now on (contract §2.1)."""
        if new_domain != self.domain:
            self.old_domains.add(self.domain)
            self.old_domains.discard(new_domain)
            self.domain = new_domain
