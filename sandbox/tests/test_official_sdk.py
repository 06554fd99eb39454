"""The official Python SDK (b24pysdk) against the sandbox over HTTPS (contract §2.1, §13).

The SDK always builds `https://<domain>/rest/<method>.json`, posts JSON with `auth` and maps error
codes to its own exception types: the sandbox must satisfy it unchanged. (Its 302 handling keeps
only the host name of `Location`, so following a domain change needs the sandbox on port 443.)
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from b24pysdk import BitrixApp, BitrixToken, BitrixWebhook
from b24pysdk.errors import BitrixAPINotFound, BitrixAPIOperationTimeLimit, BitrixAPIWrongAuthType

if TYPE_CHECKING:
    from sandbox.tests.conftest import RunningSandbox


@pytest.fixture
def https_sandbox(
    start_sandbox: Callable[..., RunningSandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> RunningSandbox:
    running = start_sandbox(tls_dir=tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(running.certificate))  # the SDK uses requests
    return running


@pytest.fixture
def control(https_sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    trust = ssl.create_default_context(cafile=str(https_sandbox.certificate))
    with httpx.Client(base_url=https_sandbox.base_url, verify=trust, timeout=10) as http:
        yield http


@pytest.fixture
def sdk_token(https_sandbox: RunningSandbox, control: httpx.Client) -> BitrixToken:
    app = control.post("/_sandbox/apps", json={"name": "sdk"}).json()
    access = control.post(f"/_sandbox/apps/{app['client_id']}/install").json()["access_token"]
    # With an app the SDK calls in OAuth mode (without one it builds webhook URLs).
    bitrix_app = BitrixApp(client_id=app["client_id"], client_secret=app["client_secret"])
    return BitrixToken(domain=f"127.0.0.1:{https_sandbox.port}", auth_token=access, bitrix_app=bitrix_app)


def test_sdk_calls_a_method(sdk_token: BitrixToken) -> None:
    response = sdk_token.call_method("profile")
    assert response["result"]["ID"] == "1"
    assert "duration" in response["time"]


def test_sdk_maps_sandbox_errors(sdk_token: BitrixToken, control: httpx.Client) -> None:
    with pytest.raises(BitrixAPINotFound):
        sdk_token.call_method("no.such.method")
    control.put("/_sandbox/limits", json={"operating_limit": 0})
    sdk_token.call_method("server.time")
    with pytest.raises(BitrixAPIOperationTimeLimit):
        sdk_token.call_method("server.time")
    hook = control.post("/_sandbox/webhooks", json={"user_id": 1}).json()
    webhook = BitrixWebhook(domain=sdk_token.domain, webhook_token=f"{hook['user_id']}/{hook['code']}")
    assert webhook.call_method("profile")["result"]["ID"] == "1"
    with pytest.raises(BitrixAPIWrongAuthType):
        webhook.call_method("imconnector.list")

