"""A real b24-sandbox subprocess on loopback, and the test doubles the client needs around it.

The bridge never imports ``b24sandbox``; tests talk to it over HTTP only (its control API under
``/_sandbox/``), exactly as the bridge talks to a real portal.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from openline_bridge.bitrix24.auth import PortalTokens
from openline_bridge.store.portals import PortalInstall

SANDBOX_BIN = Path(sys.executable).with_name("b24sandbox")
CLIENT_ID = "local.h4test000001"
CLIENT_SECRET = "h4-test-client-secret"


def free_port() -> int:
    """A currently unused loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class SandboxProcess:
    """A running sandbox: its base URL and the process to stop."""

    base_url: str
    port: int
    process: subprocess.Popen[bytes]

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call the control API synchronously and return its JSON."""
        response = httpx.request(method, f"{self.base_url}/_sandbox{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        """Terminate the process (only this one) and wait for it."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_sandbox(log_path: Path) -> SandboxProcess:
    """Start ``b24sandbox serve`` on a free loopback port and wait (at most 30 s) until it answers."""
    port = free_port()
    log = log_path.open("wb")
    process = subprocess.Popen(
        [str(SANDBOX_BIN), "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    sandbox = SandboxProcess(f"http://127.0.0.1:{port}", port, process)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sandbox exited with {process.returncode}: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"{sandbox.base_url}/_sandbox/limits", timeout=1).status_code == 200:
                return sandbox
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    sandbox.stop()
    raise RuntimeError("sandbox did not answer within 30 s")


def install_test_app(sandbox: SandboxProcess) -> dict[str, Any]:
    """Reset the portal, register the test app and install it; the install answer (tokens, endpoints)."""
    sandbox.control("POST", "/reset")
    sandbox.control(
        "POST",
        "/apps",
        {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scope": "imopenlines,imconnector,im,placement",
        },
    )
    answer: dict[str, Any] = sandbox.control("POST", f"/apps/{CLIENT_ID}/install", {})
    return answer


def tokens_from_install(installed: dict[str, Any]) -> PortalTokens:
    """The ``PortalTokens`` an install answer amounts to."""
    return PortalTokens(
        member_id=installed["member_id"],
        client_id=CLIENT_ID,
        client_endpoint=installed["client_endpoint"],
        server_endpoint=installed["server_endpoint"],
        access_token=installed["access_token"],
        refresh_token=installed["refresh_token"],
        expires_at=float(installed["expires"]),
    )


def portal_install(
    installed: dict[str, Any],
    *,
    client_id: str = CLIENT_ID,
    scope: str = "imopenlines,imconnector,im,placement",
    installed_by: int | None = None,
) -> PortalInstall:
    """The ``PortalInstall`` the bridge's install service would store for a sandbox install answer."""
    return PortalInstall(
        member_id=installed["member_id"],
        domain=installed["domain"],
        client_endpoint=installed["client_endpoint"],
        server_endpoint=installed["server_endpoint"],
        client_id=client_id,
        access_token=installed["access_token"],
        refresh_token=installed["refresh_token"],
        access_expires_at=datetime.fromtimestamp(installed["expires"], UTC),
        application_token=installed["application_token"],
        scope=scope,
        installed_by_bitrix_user_id=installed["user_id"] if installed_by is None else installed_by,
    )


class InMemoryTokenStore:
    """A test-only ``TokenStore``: one dict and one asyncio lock (a single process)."""

    def __init__(self, tokens: PortalTokens) -> None:
        self.tokens = {tokens.member_id: tokens}
        self.refreshes_saved = 0
        self.moves: list[tuple[str, str]] = []
        self._guard = asyncio.Lock()

    async def load(self, member_id: str) -> PortalTokens:
        return self.tokens[member_id]

    @asynccontextmanager
    async def refresh_guard(self, member_id: str) -> AsyncIterator[PortalTokens]:
        async with self._guard:
            yield self.tokens[member_id]

    async def save_refreshed(
        self, member_id: str, access_token: str, refresh_token: str, expires_at: float
    ) -> None:
        self.refreshes_saved += 1
        self.tokens[member_id] = replace(
            self.tokens[member_id],
            access_token=access_token,
            refresh_token=refresh_token,
            expires_at=expires_at,
        )

    async def save_client_endpoint(self, member_id: str, client_endpoint: str, domain: str) -> None:
        self.moves.append((client_endpoint, domain))
        self.tokens[member_id] = replace(self.tokens[member_id], client_endpoint=client_endpoint)


class CountingTransport(httpx.AsyncHTTPTransport):
    """A real HTTP transport that also counts requests per path (to see OAuth calls)."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await super().handle_async_request(request)

    def count(self, path: str) -> int:
        """How many requests went to ``path``."""
        return self.paths.count(path)


async def lookup_secret(client_id: str) -> str:
    """The client secret of the test app (``KeyError`` for any other)."""
    return {CLIENT_ID: CLIENT_SECRET}[client_id]
