"""The sandbox ASGI application and a way to run it.

Routing: `/rest/...` → the lean REST endpoint, `/oauth/token/` → the OAuth endpoint, everything
else (control API under `/_sandbox/`, pages, `/bx24.js`) → the FastAPI control app. Events fired
while a request is served leave the queue only after its answer was sent (contract §7.2).

    app = create_app(SandboxSettings(domain="127.0.0.1:8024"))
    uvicorn.run(app, host="127.0.0.1", port=8024)
"""

from __future__ import annotations

import logging
import socket
from typing import Any

import uvicorn
from starlette.types import Receive, Scope, Send

# Imported for their @rest_method registrations.
from b24sandbox import batch, event_methods, system_methods  # noqa: F401
from b24sandbox.control.app import create_control_app
from b24sandbox.oauth_server import OAuthEndpoint
from b24sandbox.openlines import methods as openlines_methods  # noqa: F401
from b24sandbox.runtime import Sandbox, SandboxSettings
from b24sandbox.transport import PREFIX as REST_PREFIX
from b24sandbox.transport import RestEndpoint

log = logging.getLogger("b24sandbox")
OAUTH_PREFIX = "/oauth/token"


class SandboxApp:
    """The root ASGI app of one sandbox process."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.rest = RestEndpoint(lambda: sandbox.portal)
        self.oauth = OAuthEndpoint(lambda: sandbox.portal)
        self.control = create_control_app(sandbox)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path: str = scope.get("path", "")
        with self.sandbox.portal.bus.holding():
            if path.startswith(REST_PREFIX):
                await self.rest(scope, receive, send)
            elif path.startswith(OAUTH_PREFIX):
                await self.oauth(scope, receive, send)
            else:
                await self.control(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.sandbox.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.sandbox.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(settings: SandboxSettings) -> SandboxApp:
    """A sandbox ASGI app for one portal; `app.sandbox.portal` is the live state."""
    return SandboxApp(Sandbox(settings))


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0 picks a free port; read it with `getsockname()`)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def make_server(app: SandboxApp, **config: Any) -> uvicorn.Server:
    """A uvicorn server for the app (uvloop + httptools when installed, no access log)."""
    options: dict[str, Any] = {"log_level": "warning", "access_log": False, "lifespan": "on"}
    options.update(config)
    return uvicorn.Server(uvicorn.Config(app, **options))
