"""Real processes for the resilience tests: the b24-sandbox and ``openline-bridge serve`` as children on
free loopback ports, the portal set up through the demo's own steps (``demo/run.py``: register and
install the app, create a line, connect it on the settings page), visitors over the protocol API.

Everything here can be killed and restarted: the sandbox keeps its portal in a ``--state`` file, the
bridge keeps its data in its database (SQLite in the test's temp dir, or a fresh PostgreSQL database).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


def _load_demo() -> ModuleType:
    # demo/ is a script directory, not a package: load its module by path to reuse its set-up steps.
    spec = importlib.util.spec_from_file_location("olb_demo_run", ROOT / "demo" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses of the module look themselves up here
    spec.loader.exec_module(module)
    return module


DEMO = _load_demo()
CLIENT_ID: str = DEMO.CLIENT_ID
SECRET_KEY = "resilience-secret-key-0123456789abcdefgh"  # a throwaway test database
CLIENT_SECRET = "resilience-client-secret-0123456789"  # a throwaway sandbox app
SITE_ORIGIN = "http://127.0.0.1:9"  # allowed on the widget; visitors here send no Origin at all


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(proc: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    """SIGKILL (``kill``) or SIGTERM the child, and reap it."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@dataclass
class SandboxProcess:
    """``b24sandbox serve`` on a fixed port with a state file, so it can come back where it was."""

    port: int
    state: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the portal."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start (or restart) the process; the state file, if present, is restored."""
        args = [str(BIN / "b24sandbox"), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        if self.state.exists():
            args += ["--state", str(self.state)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        DEMO.wait_http(f"{self.url}/_sandbox/openapi.json", timeout=30)

    def save_and_stop(self) -> None:
        """Write the portal to the state file, then stop the process (the portal goes offline)."""
        httpx.post(
            f"{self.url}/_sandbox/state/save", json={"path": str(self.state)}, timeout=30
        ).raise_for_status()
        self.stop()

    def stop(self) -> None:
        """Stop the process."""
        if self.proc is not None:
            stop_process(self.proc)


@dataclass
class BridgeProcess:
    """``openline-bridge serve`` (HTTP server and outbox worker in one process)."""

    port: int
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the bridge."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start (or restart) the bridge and wait for its health endpoint."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "openline-bridge"), "serve"], env=self.env, stdout=out, stderr=out
            )
        DEMO.wait_http(f"{self.url}/healthz", timeout=60)

    def kill(self) -> None:
        """``kill -9``: no shutdown handler runs."""
        if self.proc is not None:
            stop_process(self.proc, kill=True)

    def stop(self) -> None:
        """A graceful stop."""
        if self.proc is not None:
            stop_process(self.proc)


def bridge_env(port: int, data_dir: Path, sandbox_url: str, database_url: str) -> dict[str, str]:
    """The ``OLB_*`` environment of a bridge talking to the sandbox (as ``demo/run.py`` sets it)."""
    inherited = {name: value for name, value in os.environ.items() if not name.startswith("OLB_")}
    return {
        **inherited,
        "OLB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "OLB_HOST": "127.0.0.1",
        "OLB_PORT": str(port),
        "OLB_DATA_DIR": str(data_dir),
        "OLB_DATABASE_URL": database_url,
        "OLB_SECRET_KEY": SECRET_KEY,
        "OLB_B24_CLIENT_ID": CLIENT_ID,
        "OLB_B24_CLIENT_SECRET": CLIENT_SECRET,
        "OLB_B24_JS_URL": f"{sandbox_url}/bx24.js",
        "OLB_LOG_LEVEL": "info",
    }


@dataclass
class Stack:
    """A sandbox and a bridge wired together, with the widget key of the connected line."""

    sandbox: SandboxProcess
    bridge: BridgeProcess
    widget_key: str = ""

    def set_up_portal(self) -> None:
        """Register, install and connect the app the way an admin does (the demo's steps)."""
        with httpx.Client(base_url=self.sandbox.url, timeout=30) as control:
            self.widget_key = str(DEMO.setup_portal(control, self.bridge.url, CLIENT_SECRET, SITE_ORIGIN))

    def stop(self) -> None:
        """Stop both processes."""
        self.bridge.stop()
        self.sandbox.stop()


def start_stack(tmp: Path, database_url: str, extra_env: Mapping[str, str] | None = None) -> Stack:
    """Start the sandbox and the bridge (``extra_env`` adds ``OLB_*`` settings), set the portal up;
    the caller stops the stack."""
    sandbox = SandboxProcess(free_port(), tmp / "sandbox-state.json", tmp / "sandbox.log")
    bridge_port = free_port()
    env = {**bridge_env(bridge_port, tmp / "bridge", sandbox.url, database_url), **(extra_env or {})}
    bridge = BridgeProcess(bridge_port, env, tmp / "bridge.log")
    stack = Stack(sandbox, bridge)
    sandbox.start()
    try:
        bridge.start()
        stack.set_up_portal()
    except BaseException:
        stack.stop()
        raise
    return stack


def visitor_client(bridge_url: str) -> httpx.AsyncClient:
    """A client of the bridge's visitor API with room for many concurrent visitors."""
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    return httpx.AsyncClient(base_url=bridge_url, timeout=30, limits=limits)


@dataclass
class Visitor:
    """One visitor: its token, its own client address, its acknowledged messages in sending order."""

    token: str
    address: str
    acknowledged: list[dict[str, Any]] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        """Authentication plus the visitor's address (uvicorn trusts X-Forwarded-For from loopback)."""
        return {"Authorization": f"Bearer {self.token}", "X-Forwarded-For": self.address}


async def open_visitors(http: httpx.AsyncClient, widget_key: str, count: int) -> list[Visitor]:
    """``count`` new anonymous visitors, each from its own address (protocol §2.4 limits per IP)."""
    visitors = []
    for n in range(count):
        address = f"10.77.{n // 256 % 256}.{n % 256}"
        answer = await http.post(
            f"/api/v1/widgets/{widget_key}/sessions", json={}, headers={"X-Forwarded-For": address}
        )
        answer.raise_for_status()
        visitors.append(Visitor(answer.json()["token"], address))
    return visitors


async def send_message(
    http: httpx.AsyncClient, visitor: Visitor, client_message_id: str, text: str, *, within: float
) -> dict[str, Any] | None:
    """Send one message, retrying with the same ``client_message_id`` (protocol §6.3) through refusals
    and a dead bridge for up to ``within`` seconds; the acknowledged message, or None if never acknowledged.
    """
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            answer = await http.post(
                "/api/v1/conversation/messages",
                json={"client_message_id": client_message_id, "text": text},
                headers=visitor.headers,
            )
        except httpx.TransportError:
            await asyncio.sleep(0.2)
            continue
        if answer.status_code in (200, 201):
            message: dict[str, Any] = answer.json()["message"]
            visitor.acknowledged.append(message)
            return message
        if answer.status_code == 429:
            await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
            continue
        await asyncio.sleep(0.2)
    return None


async def send_burst(
    http: httpx.AsyncClient, visitors: list[Visitor], per_visitor: int, *, tag: str, within: float = 60.0
) -> int:
    """Every visitor sends ``per_visitor`` messages one after another, all visitors concurrently, for at
    most ``within`` seconds in all; returns how many were acknowledged. Texts are ``<tag> <visitor> <n>``.
    """
    deadline = time.monotonic() + within

    async def one_visitor(index: int, visitor: Visitor) -> int:
        acknowledged = 0
        for n in range(per_visitor):
            text = f"{tag} {index} {n}"
            left = deadline - time.monotonic()
            sent = await send_message(http, visitor, f"{tag}-{index}-{n}", text, within=left)
            acknowledged += sent is not None
        return acknowledged

    counts = await asyncio.gather(*(one_visitor(i, v) for i, v in enumerate(visitors)))
    return sum(counts)


def acknowledged(visitors: list[Visitor]) -> int:
    """How many messages the visitors have seen acknowledged so far."""
    return sum(len(visitor.acknowledged) for visitor in visitors)


async def until_acknowledged(visitors: list[Visitor], count: int, *, within: float) -> int:
    """Wait until the visitors have ``count`` acknowledged messages (a burst is running meanwhile);
    how many they have by then."""

    async def reached() -> bool:
        return acknowledged(visitors) >= count

    if not await wait_until(reached, within=within, every=0.01):
        raise AssertionError(f"fewer than {count} messages acknowledged within {within} s")
    return acknowledged(visitors)


async def sandbox_messages(control: httpx.AsyncClient) -> dict[str, list[dict[str, Any]]]:
    """Every chat's incoming (visitor) messages in the sandbox, keyed by the chat's external id."""
    chats = (await control.get("/_sandbox/conversations")).json()
    out: dict[str, list[dict[str, Any]]] = {}
    for chat in chats:
        full = (await control.get(f"/_sandbox/conversations/{chat['bitrix_chat_id']}")).json()
        out[chat["external_chat_id"]] = [m for m in full["messages"] if m["direction"] == "in"]
    return out


async def wait_until(check: Callable[[], Awaitable[bool]], *, within: float, every: float = 0.5) -> bool:
    """Poll ``check`` until it holds or ``within`` seconds pass; whether it held."""
    deadline = time.monotonic() + within
    while True:
        if await check():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(every)


def new_database_name() -> str:
    """A private PostgreSQL database name for one test."""
    return f"olb_resilience_{secrets.token_hex(5)}"


async def visitor_events(http: httpx.AsyncClient, visitor: Visitor) -> list[dict[str, Any]]:
    """The visitor's whole event log, paged through ``GET /api/v1/conversation/events`` (protocol §6.2)."""
    events: list[dict[str, Any]] = []
    after = 0
    for _ in range(1000):  # bounded: 500 000 events is far beyond any test
        answer = await http.get(
            "/api/v1/conversation/events", params={"after": after, "limit": 500}, headers=visitor.headers
        )
        answer.raise_for_status()
        page = answer.json()
        events.extend(page["events"])
        if not page["has_more"] or not page["events"]:
            break
        after = page["events"][-1]["seq"]
    return events
