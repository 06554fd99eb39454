"""Fixtures for sandbox tests: a real sandbox server on loopback, an HTTP client, an event receiver
and an installed app. Everything talks real HTTP.

- `sandbox`: a running sandbox, reset to a fresh portal for each test (`.base_url`, `.portal`).
  One server per test session (per xdist worker), so tests stay fast.
- `start_sandbox(**settings)`: start an extra sandbox with its own `SandboxSettings` (e.g.
  `oauth_host=...`, `event_delay=...`; `tls_dir=path` serves HTTPS with a self-signed certificate
  generated there, `.certificate` is its path); stopped at the end of the test.
- `client`: `httpx.Client` with `base_url` = the sandbox.
- `receiver`: an HTTP server on loopback that records every request (headers, raw body, decoded
  form pairs); `receiver.wait_for(...)` waits, bounded in time, for requests to arrive.
- `rest(method, params, auth=token)`: POST a REST call as JSON to `/rest/<method>.json`.
- `check_wire(received, "<event>__<case>")`: assert a received request matches the payload fixture
  `fixtures/<event>__<case>.json` (exact key set, fixed values, digit-only and 32-hex fields).
- `installed_app`: an API-only app created and installed through the control API with the receiver
  as install URL (`<receiver>/install`) and handler URL (`<receiver>/handler`); `install_app(client,
  receiver, suffix)` installs more (import it with `from sandbox.tests.conftest import install_app`).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sandbox.tests.loopback import serving

from b24sandbox.portal import Portal
from b24sandbox.runtime import SandboxSettings
from b24sandbox.server import SandboxApp, bind_socket, create_app, make_server
from b24sandbox.tls import ensure_certificate

START_TIMEOUT = 10.0
FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class RunningSandbox:
    """A sandbox server running in a background thread."""

    base_url: str
    app: SandboxApp
    host: str
    port: int
    certificate: Path | None = None  # the self-signed certificate when serving HTTPS

    @property
    def portal(self) -> Portal:
        """The live portal state (changes on reset)."""
        return self.app.sandbox.portal


@dataclass
class _Handle:
    running: RunningSandbox
    stop: Callable[[], None]


def _start(tls_dir: Path | None = None, **settings: Any) -> _Handle:
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    protocol, options, cert = "http", {}, None
    if tls_dir is not None:
        cert, key = ensure_certificate(tls_dir)
        protocol, options = "https", {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    app = create_app(SandboxSettings(domain=f"127.0.0.1:{port}", protocol=protocol, **settings))
    server = make_server(app, **options)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("sandbox server did not start")
        time.sleep(0.01)

    def stop() -> None:
        server.should_exit = True
        thread.join(START_TIMEOUT)
        sock.close()

    running = RunningSandbox(f"{protocol}://127.0.0.1:{port}", app, "127.0.0.1", port, cert)
    return _Handle(running, stop)


@pytest.fixture(scope="session")
def _session_sandbox() -> Iterator[RunningSandbox]:
    handle = _start()
    yield handle.running
    handle.stop()


@pytest.fixture
def sandbox(_session_sandbox: RunningSandbox) -> RunningSandbox:
    """The session's sandbox, reset to a fresh portal for this test."""
    response = httpx.post(f"{_session_sandbox.base_url}/_sandbox/reset", timeout=10)
    response.raise_for_status()
    return _session_sandbox


@pytest.fixture
def start_sandbox() -> Iterator[Callable[..., RunningSandbox]]:
    """Factory: start another sandbox with custom `SandboxSettings` fields."""
    handles: list[_Handle] = []

    def start(**settings: Any) -> RunningSandbox:
        handle = _start(**settings)
        handles.append(handle)
        return handle.running

    yield start
    for handle in handles:
        handle.stop()


@pytest.fixture
def client(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    """A sync HTTP client for the sandbox (no redirects followed, like the official SDK)."""
    with httpx.Client(base_url=sandbox.base_url, timeout=10, follow_redirects=False) as http:
        yield http


RestCall = Callable[..., httpx.Response]


@pytest.fixture
def rest(client: httpx.Client) -> RestCall:
    """`rest(method, params=None, auth=None)`: a JSON POST to `/rest/<method>.json`, like the SDK."""

    def call(method: str, params: dict[str, Any] | None = None, auth: str | None = None) -> httpx.Response:
        body = dict(params or {})
        if auth is not None:
            body["auth"] = auth
        return client.post(f"/rest/{method}.json", json=body)

    return call


@dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    pairs: list[tuple[str, str]]  # the urlencoded body decoded, keys as on the wire

    @property
    def form(self) -> dict[str, str]:
        """The decoded form as a flat dict (last value wins)."""
        return dict(self.pairs)


@dataclass
class EventReceiver:
    """A loopback HTTP server recording every request; answers `status` after `delay` seconds."""

    url: str = ""
    status: int = 200
    response_body: bytes = b"OK"
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def record(self, item: Received) -> None:
        """Store a request and wake waiters."""
        with self._cond:
            self.requests.append(item)
            self._cond.notify_all()

    def wait_for(
        self, predicate: Callable[[Received], bool] = lambda r: True, count: int = 1, timeout: float = 5.0
    ) -> list[Received]:
        """The first `count` matching requests, waiting at most `timeout` seconds (AssertionError then)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [r for r in self.requests if predicate(r)]
                if len(found) >= count:
                    return found[:count]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    got = f"got {len(found)}: {self.requests}"
                    raise AssertionError(f"expected {count} matching requests, {got}")
                self._cond.wait(remaining)

    def events(self, name: str) -> list[Received]:
        """Requests so far whose form field `event` is `name`."""
        with self._cond:
            return [r for r in self.requests if r.form.get("event") == name]

    def wait_event(self, name: str, count: int = 1, timeout: float = 5.0) -> list[Received]:
        """Wait for `count` deliveries of event `name`."""
        return self.wait_for(lambda r: r.form.get("event") == name, count, timeout)


def _handler_class(receiver: EventReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            receiver.record(
                Received(
                    method=self.command,
                    path=parts.path,
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    pairs=parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True),
                )
            )
            if receiver.delay:
                time.sleep(receiver.delay)
            try:
                self.send_response(receiver.status)
                self.send_header("Content-Length", str(len(receiver.response_body)))
                self.end_headers()
                self.wfile.write(receiver.response_body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender gave up waiting (a timeout test); nothing to answer

        do_POST = _serve
        do_GET = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the default stderr access log."""

    return Handler


@pytest.fixture
def receiver() -> Iterator[EventReceiver]:
    """A recording HTTP server on an ephemeral loopback port."""
    recv = EventReceiver()
    with serving(_handler_class(recv)) as url:
        recv.url = url
        yield recv


@dataclass(frozen=True)
class InstalledApp:
    """An installed API-only app and what its installation issued."""

    client_id: str
    client_secret: str
    access_token: str
    refresh_token: str
    application_token: str
    member_id: str
    handler_url: str
    install_url: str


def install_app(client: httpx.Client, receiver: EventReceiver, suffix: str = "") -> InstalledApp:
    """Create and install an API-only app with URLs `<receiver>/install<suffix>`, `/handler<suffix>`."""
    created = client.post(
        "/_sandbox/apps",
        json={
            "name": f"Test connector{suffix}",
            "install_url": f"{receiver.url}/install{suffix}",
            "handler_url": f"{receiver.url}/handler{suffix}",
            "api_only": True,
        },
    )
    created.raise_for_status()
    app = created.json()
    installed = client.post(f"/_sandbox/apps/{app['client_id']}/install")
    installed.raise_for_status()
    tokens = installed.json()
    return InstalledApp(
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        application_token=tokens["application_token"],
        member_id=tokens["member_id"],
        handler_url=app["handler_url"],
        install_url=app["install_url"],
    )


@pytest.fixture
def installed_app(client: httpx.Client, receiver: EventReceiver) -> InstalledApp:
    """An API-only app installed through the control API; install and handler URLs on the receiver."""
    return install_app(client, receiver)


def _check_wire(received: Received, fixture: str) -> None:
    expected = json.loads((FIXTURES / f"{fixture}.json").read_text(encoding="utf-8"))
    keys = [k for k, _ in received.pairs]
    assert len(keys) == len(set(keys)), f"duplicate keys on the wire: {keys}"
    assert sorted(keys) == sorted(expected["keys"])
    form = received.form
    for key, value in expected["values"].items():
        assert form[key] == value, key
    for key in expected.get("digits", []):
        assert form[key].isdigit(), key
    for key in expected.get("hex32", []):
        assert re.fullmatch(r"[0-9a-f]{32}", form[key]), key
    if "query_keys" in expected:
        assert sorted(received.query) == sorted(expected["query_keys"])


@pytest.fixture
def check_wire() -> Callable[[Received, str], None]:
    """Assert a received request against `fixtures/<event>__<case>.json`."""
    return _check_wire
