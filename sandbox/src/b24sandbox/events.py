"""Event bindings and delivery: the portal's queue server (contract §7).

`EventBus.fire` builds one payload per matching binding (top-level `event`, `event_handler_id`,
`data`, `ts`, `auth`; contract §7.3) and queues it. Delivery is asynchronous: events fired while a
request is being served are held until that request's answer has been sent, then a few concurrent
senders POST them form-encoded (PHP bracket keys) after the configured delay. There are **no
retries** (contract §7.2): every attempt, good or bad, is recorded once in `deliveries`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections import deque
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import httpx

from b24sandbox import phpform
from b24sandbox.errors import RestError

if TYPE_CHECKING:
    from b24sandbox.oauth import AccessToken
    from b24sandbox.portal import App, Portal

# Events the portal knows (contract §6, §7.1, §9); `event.bind` refuses anything else.
KNOWN_EVENTS: tuple[str, ...] = (
    "ONAPPINSTALL",
    "ONAPPUNINSTALL",
    "ONAPPUPDATE",
    "ONAPPTEST",
    "ONIMCONNECTORMESSAGEADD",
    "ONIMCONNECTORMESSAGEUPDATE",
    "ONIMCONNECTORMESSAGEDELETE",
    "ONIMCONNECTORLINEDELETE",
    "ONIMCONNECTORSTATUSDELETE",
    "ONIMCONNECTORDIALOGSTART",
    "ONIMCONNECTORDIALOGFINISH",
    "ONOPENLINEMESSAGEADD",
    "ONOPENLINEMESSAGEUPDATE",
    "ONOPENLINEMESSAGEDELETE",
)
USER_AGENT = "Bitrix24 Webhook Engine"


@dataclass
class Binding:
    """One `event.bind` of one app (contract §7.1)."""

    id: int
    event: str
    handler: str
    client_id: str
    auth_type: int = 0
    offline: bool = False


@dataclass
class Delivery:
    """One delivery attempt (`GET /_sandbox/events/deliveries`); `sent_at`/`status` None until sent."""

    id: int
    event: str
    handler_id: int
    handler: str
    client_id: str
    queued_at: float
    sent_at: float | None = None
    status: int | None = None
    error: str | None = None
    duration: float | None = None
    body: str | None = None


def token_auth(portal: Portal, app: App, token: AccessToken) -> dict[str, Any]:
    """An `auth` block with a user's access token (contract §7.4), in the documented key order."""
    return {
        "access_token": token.token,
        "expires": int(token.expires),
        "expires_in": portal.tokens.lifetime,
        "scope": ",".join(app.scope),
        "domain": portal.domain,
        "server_endpoint": portal.server_endpoint,
        "status": app.status,
        "client_endpoint": portal.client_endpoint,
        "member_id": portal.member_id,
        "user_id": token.user_id,
        "application_token": app.application_token,
    }


@dataclass
class _Pending:
    delivery: Delivery
    payload: dict[str, Any]
    delay: float = 0.0
    due: float = 0.0


# Events fired while a request is served wait here until its answer is sent (contract §7.2:
# the queue runs after the PHP request finished).
_held: ContextVar[list[_Pending] | None] = ContextVar("b24sandbox_held_events", default=None)


class EventBus:
    """Bindings, the delivery queue and its senders, and the delivery log of one portal."""

    def __init__(self, portal: Portal, *, senders: int = 4, log_size: int = 10_000) -> None:
        self.portal = portal
        self.delay = 0.0
        self.timeout = 10.0
        self.senders = senders
        self.bindings: dict[int, Binding] = {}
        self.deliveries: deque[Delivery] = deque(maxlen=log_size)
        self._handler_ids = itertools.count(1)
        self._delivery_ids = itertools.count(1)
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._client: httpx.AsyncClient | None = None

    # ---- bindings (contract §7.1) ---------------------------------------------------------------

    def next_handler_id(self) -> int:
        """A new numeric handler id (also used for the install callback's `event_handler_id`)."""
        return next(self._handler_ids)

    def bind(
        self, client_id: str, event: str, handler: str, *, auth_type: int = 0, offline: bool = False
    ) -> Binding:
        """Add a binding; names are case-insensitive and stored upper-case (contract §7.1)."""
        name = event.upper()
        if name not in KNOWN_EVENTS:
            raise RestError("ERROR_EVENT_NOT_FOUND", "Event not found", 400)
        for b in self.bindings.values():
            if (b.client_id, b.event, b.handler, b.auth_type) == (client_id, name, handler, auth_type):
                # contract §7.1 / §16 #11: observed as ERROR_CORE "Handler already binded".
                raise RestError("ERROR_CORE", "Handler already binded", 400)
        binding = Binding(self.next_handler_id(), name, handler, client_id, auth_type, offline)
        self.bindings[binding.id] = binding
        return binding

    def unbind(self, client_id: str, event: str, handler: str, auth_type: int | None) -> int:
        """Remove the app's matching bindings; returns how many (contract §7.1 `{"count": n}`)."""
        name = event.upper()
        gone = [
            b.id
            for b in self.bindings.values()
            if b.client_id == client_id
            and b.event == name
            and b.handler == handler
            and (auth_type is None or b.auth_type == auth_type)
        ]
        for binding_id in gone:
            del self.bindings[binding_id]
        return len(gone)

    def bindings_of(self, client_id: str) -> list[Binding]:
        """Bindings of one app in creation order."""
        return [b for b in self.bindings.values() if b.client_id == client_id]

    def restore_bindings(self, bindings: list[Binding]) -> None:
        """Replace every binding (snapshot restore); new ids continue after the highest one."""
        self.bindings = {b.id: b for b in bindings}
        self._handler_ids = itertools.count(max(self.bindings, default=0) + 1)

    def forget_app(self, client_id: str) -> None:
        """Drop every binding of an app (uninstall, contract §6.4)."""
        for binding in self.bindings_of(client_id):
            del self.bindings[binding.id]

    # ---- firing --------------------------------------------------------------------------------

    def fire(self, event: str, data: Any, *, owner_client_id: str | None, user_id: int | None) -> None:
        """Queue `event` for every online binding of installed, finished apps (contract §6.3, §7.5)."""
        name = event.upper()
        for binding in list(self.bindings.values()):
            if binding.event != name or binding.offline:
                continue
            if owner_client_id is not None and binding.client_id != owner_client_id:
                continue  # contract §7.5: connector events go only to the owning app
            app = self.portal.apps.get(binding.client_id)
            if app is None or not (app.installed and app.install_finished):
                continue  # contract §6.3: no events before installation is finished
            # contract §7.1: a binding's `auth_type` picks the user whose token is sent
            self.send_to(binding, app, data, binding.auth_type or user_id)

    def send_to(self, binding: Binding, app: App, data: Any, token_user: int | None) -> None:
        """Queue one payload for one binding, bypassing the installation gate (used by uninstall).

        `token_user` None sends the token-less `auth` block (contract §7.4).
        """
        payload = {
            "event": binding.event,
            "event_handler_id": binding.id,
            "data": data,
            "ts": None,  # set when the event leaves the queue (contract §7.3)
            "auth": self.auth_block(app, token_user),
        }
        delivery = Delivery(
            next(self._delivery_ids), binding.event, binding.id, binding.handler, binding.client_id,
            self.portal.clock.now(),
        )
        faults = self.portal.faults.events
        # Recorded when queued (status None until sent), so the log shows the queue order.
        self.deliveries.append(delivery)
        if faults.take_drop():
            delivery.error = "dropped by fault injection"
            return
        copies = [delivery]
        if faults.take_duplicate():
            copies.append(Delivery(**{**asdict(delivery), "id": next(self._delivery_ids)}))
            self.deliveries.append(copies[1])
        for item in copies:
            self._enqueue(_Pending(item, payload, self.delay + faults.extra_delay))

    def auth_block(self, app: App, user_id: int | None) -> dict[str, Any]:
        """The event `auth` block of contract §7.4: a fresh access token, never a refresh token."""
        portal = self.portal
        if user_id is None:
            return {
                "domain": portal.domain,
                "client_endpoint": portal.client_endpoint,
                "server_endpoint": portal.server_endpoint,
                "member_id": portal.member_id,
                "application_token": app.application_token,
            }
        return token_auth(portal, app, portal.tokens.mint_access(app.client_id, user_id))

    # ---- the queue -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """Hold events fired inside the block; queue them when it ends (after the answer was sent)."""
        held: list[_Pending] = []
        token = _held.set(held)
        try:
            yield
        finally:
            _held.reset(token)
            for item in held:
                self._enqueue(item)

    def _enqueue(self, item: _Pending) -> None:
        held = _held.get()
        if held is not None:
            held.append(item)
            return
        loop = self._loop
        if loop is not None and threading.get_ident() != self._loop_thread:
            loop.call_soon_threadsafe(self._put, item)
        else:
            self._put(item)

    def _put(self, item: _Pending) -> None:
        item.due = (self._loop.time() if self._loop is not None else 0.0) + item.delay
        self._queue.put_nowait(item)

    async def start(self) -> None:
        """Start the senders (called by the server's lifespan)."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._client = httpx.AsyncClient(headers={"User-Agent": USER_AGENT})
        self._tasks = [asyncio.create_task(self._sender()) for _ in range(self.senders)]

    async def stop(self) -> None:
        """Stop the senders; queued, unsent events are discarded."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def drain(self, within: float) -> bool:
        """Wait until every queued event was attempted; False when `within` seconds pass first."""
        try:
            await asyncio.wait_for(self._queue.join(), within)
        except TimeoutError:
            return False
        return True

    async def _sender(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            item = await self._queue.get()
            try:
                wait = item.due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                await self._deliver(item)
            finally:
                self._queue.task_done()

    async def _deliver(self, item: _Pending) -> None:
        assert self._client is not None
        delivery = item.delivery
        delivery.sent_at = self.portal.clock.now()
        payload = {**item.payload, "ts": int(delivery.sent_at)}
        delivery.body = phpform.encode(payload)
        started = asyncio.get_running_loop().time()
        try:
            response = await self._client.post(
                delivery.handler,
                content=delivery.body,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                timeout=self.timeout,
            )
            delivery.status = response.status_code
        except httpx.HTTPError as exc:
            # contract §7.2: failures are logged and dropped, never retried.
            delivery.error = f"{type(exc).__name__}: {exc}"
        delivery.duration = asyncio.get_running_loop().time() - started

    def delivery_log(self, *, event: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        """Recorded deliveries with id > `since`, optionally of one event (any case)."""
        name = event.upper() if event else None
        return [
            asdict(d) for d in self.deliveries if d.id > since and (name is None or d.event == name)
        ]
