"""The official Python SDK (b24pysdk) pointed at an HTTPS sandbox, for the `test_sdk_*.py` tests.

The SDK is used only as a test client, unchanged:
- it always builds `https://<domain>/rest/<method>.json` and verifies TLS through `requests`, which
  reads `REQUESTS_CA_BUNDLE`; the tests point that at the sandbox's self-signed certificate;
- it hard-codes its OAuth host (`https://oauth.bitrix24.tech`, contract §5.1 and §14 #12) in
  class attributes of `BitrixOAuthRequester` and offers no setting for it. `SandboxOAuthApp` is a
  `BitrixApp` whose OAuth calls go through a subclass of that requester with URLs taken from the
  `server_endpoint` the sandbox issued, as the contract advises. No SDK module state is patched.
"""

from __future__ import annotations

import gc
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from b24pysdk import BitrixApp, BitrixToken
from b24pysdk.api.requesters import BitrixOAuthRequester
from b24pysdk.api.responses import BitrixAppInfoResponse
from b24pysdk.credentials import RenewedOAuth

if TYPE_CHECKING:
    from collections.abc import Callable

    from sandbox.tests.conftest import EventReceiver, RunningSandbox

CONNECTOR = "sdkconn"
ICON = {"DATA_IMAGE": "data:image/svg+xml,%3Csvg%2F%3E", "COLOR": "#69acc0", "SIZE": "90%"}


def oauth_requester_class(server_endpoint: str) -> type[Any]:
    """A `BitrixOAuthRequester` whose token and app.info URLs are on the host of `server_endpoint`."""
    base = server_endpoint.rstrip("/").removesuffix("/rest")
    return type(
        "SandboxOAuthRequester",
        (BitrixOAuthRequester,),
        {"_OAUTH_TOKEN_URL": f"{base}/oauth/token/", "_APP_INFO_URL": f"{base}/rest/app.info/"},
    )


class SandboxOAuthApp(BitrixApp):  # type: ignore[misc]  # b24pysdk ships no type hints
    """A `BitrixApp` whose authorization server is the one named by `server_endpoint` (contract §5.1)."""

    def __init__(self, *, client_id: str, client_secret: str, server_endpoint: str) -> None:
        super().__init__(client_id=client_id, client_secret=client_secret)
        self._requester = oauth_requester_class(server_endpoint)

    def get_oauth_token(self, code: str, **kwargs: Any) -> Any:
        """Exchange an authorization code at the sandbox's OAuth endpoint."""
        return RenewedOAuth.from_dict(self._requester(self, **kwargs).get_oauth_token(code))

    def refresh_oauth_token(self, refresh_token: str, **kwargs: Any) -> Any:
        """Refresh at the sandbox's OAuth endpoint (the SDK calls this when a token expired)."""
        return RenewedOAuth.from_dict(self._requester(self, **kwargs).refresh_oauth_token(refresh_token))

    def get_app_info(self, auth_token: str, **kwargs: Any) -> Any:
        """`app.info` on the sandbox's OAuth host (the SDK validates events against it)."""
        return BitrixAppInfoResponse.from_dict(self._requester(self, **kwargs).get_app_info(auth_token))


@dataclass
class SdkPortal:
    """An HTTPS sandbox with one installed API-only app, seen through the official SDK."""

    sandbox: RunningSandbox
    control: httpx.Client  # the control API, trusting the sandbox certificate
    app: SandboxOAuthApp
    token: BitrixToken
    installed: dict[str, Any]  # the install answer of the control API (tokens, endpoints)
    handler_url: str

    @property
    def domain(self) -> str:
        """The portal domain the SDK calls (host:port)."""
        return f"{self.sandbox.host}:{self.sandbox.port}"

    @property
    def client(self) -> Any:
        """The SDK's high-level client (`client.imconnector.register(...)`, `client.event.get()`)."""
        return self.token.get_client()

    def ok(self, path: str, json: dict[str, Any] | None = None, *, verb: str = "POST") -> Any:
        """Call the control API (`/_sandbox/<path>`) and return the JSON of its 2xx answer."""
        response = self.control.request(verb, f"/_sandbox/{path}", json=json)
        assert response.is_success, response.text
        return response.json()

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """The REST calls the sandbox received (of one method, or all), oldest first."""
        params = {"method": method} if method else {}
        log: dict[str, Any] = self.control.get("/_sandbox/calls", params=params).json()
        calls: list[dict[str, Any]] = log["calls"]
        return calls

    def new_line(self, name: str = "Support") -> int:
        """Create an open line through the control API; its id."""
        return int(self.ok("lines", {"name": name})["id"])

    def register(self, connector: str = CONNECTOR) -> None:
        """Register the connector through the SDK (settings page `<handler>/settings`)."""
        imc = self.client.imconnector
        assert imc.register(connector, "SDK connector", ICON, f"{self.handler_url}/settings").result

    def connect(self, line: int, connector: str = CONNECTOR) -> None:
        """Register the connector and activate it on `line`, through the SDK."""
        self.register(connector)
        assert self.client.imconnector.activate(connector, line, True).result is True

    def conversation(self, external_chat_id: str) -> dict[str, Any]:
        """The sandbox's view of the chat with that external id, messages included."""
        chats = self.control.get("/_sandbox/conversations").json()
        found = [c for c in chats if c["external_chat_id"] == external_chat_id]
        assert len(found) == 1, chats
        response = self.control.get(f"/_sandbox/conversations/{found[0]['bitrix_chat_id']}")
        response.raise_for_status()
        conversation: dict[str, Any] = response.json()
        return conversation


def customer_message(
    text: str, message_id: str, chat_id: str = "chat-1", user_id: str = "u-1"
) -> dict[str, Any]:
    """One `MESSAGES` element of contract §8.7."""
    return {
        "user": {"id": user_id, "name": "Ivan Petrov"},
        "message": {"id": message_id, "text": text},
        "chat": {"id": chat_id, "url": f"https://example.com/chats/{chat_id}"},
    }


@pytest.fixture(name="portal")
def portal_fixture(
    start_sandbox: Callable[..., RunningSandbox],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    receiver: EventReceiver,
) -> Iterator[SdkPortal]:
    """The `portal` fixture: an HTTPS sandbox with an API-only app installed (its install and handler
    URLs on `receiver`) and an SDK token for it. Import it into a test module to use it."""
    running = start_sandbox(tls_dir=tmp_path)
    assert running.certificate is not None
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(running.certificate))  # the SDK verifies with requests
    trust = ssl.create_default_context(cafile=str(running.certificate))
    with httpx.Client(base_url=running.base_url, verify=trust, timeout=10) as control:
        created = control.post(
            "/_sandbox/apps",
            json={
                "name": "SDK app",
                "install_url": f"{receiver.url}/install",
                "handler_url": f"{receiver.url}/handler",
                "api_only": True,
            },
        ).json()
        installed = control.post(f"/_sandbox/apps/{created['client_id']}/install").json()
        app = SandboxOAuthApp(
            client_id=created["client_id"],
            client_secret=created["client_secret"],
            server_endpoint=installed["server_endpoint"],
        )
        token = BitrixToken(
            domain=f"{running.host}:{running.port}",
            auth_token=installed["access_token"],
            refresh_token=installed["refresh_token"],
            expires_in=installed["expires_in"],
            bitrix_app=app,
        )
        yield SdkPortal(running, control, app, token, installed, f"{receiver.url}/handler")
    # An SDK error keeps its response, and through it a kept-alive TLS connection, in a reference
    # cycle; collect it now so the server is not left waiting for that client at shutdown.
    gc.collect()
