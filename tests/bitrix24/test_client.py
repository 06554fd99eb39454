"""The REST client against a real b24-sandbox subprocess over loopback HTTP."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from tests.bitrix24.sandbox_peer import (
    CLIENT_ID,
    CLIENT_SECRET,
    CountingTransport,
    InMemoryTokenStore,
    SandboxProcess,
    free_port,
    install_test_app,
    lookup_secret,
    tokens_from_install,
)

from openline_bridge.bitrix24.client import Bitrix24Client, Timeouts, run_batch
from openline_bridge.bitrix24.errors import (
    AmbiguousError,
    AuthRevokedError,
    PermanentError,
    RetryableError,
    TokenExpiredError,
)
from openline_bridge.bitrix24.oauth import oauth_base_url, request_refresh
from openline_bridge.bitrix24.ratelimit import LocalLeakyBucket, PortalRateLimiter, RateLimit, Unlimited

OAUTH_PATH = "/oauth/token/"


@pytest.fixture
def installed(sandbox: SandboxProcess) -> dict[str, Any]:
    """A fresh portal with the test app installed; the install answer (tokens, endpoints)."""
    return install_test_app(sandbox)


@dataclass
class Bridge:
    client: Bitrix24Client
    store: InMemoryTokenStore
    transport: CountingTransport
    member_id: str


def make_bridge(installed: dict[str, Any], limiter: PortalRateLimiter | None = None) -> Bridge:
    tokens = tokens_from_install(installed)
    store = InMemoryTokenStore(tokens)
    transport = CountingTransport()
    client = Bitrix24Client(store, lookup_secret, limiter or Unlimited(), transport=transport)
    return Bridge(client, store, transport, tokens.member_id)


@pytest.fixture
async def bridge(installed: dict[str, Any]) -> AsyncIterator[Bridge]:
    made = make_bridge(installed)
    yield made
    await made.client.aclose()


async def test_success_envelope(bridge: Bridge) -> None:
    response = await bridge.client.call(bridge.member_id, "app.info")
    assert response.result["INSTALLED"] is True
    assert response.time is not None
    assert {"start", "finish", "duration"} <= set(response.time)
    assert bridge.transport.count(OAUTH_PATH) == 0


async def test_expired_token_is_refreshed_once_and_rotation_stored(
    sandbox: SandboxProcess, bridge: Bridge
) -> None:
    before = bridge.store.tokens[bridge.member_id]
    sandbox.control("POST", "/tokens/expire")
    response = await bridge.client.call(bridge.member_id, "app.info")
    assert response.result["INSTALLED"] is True
    after = bridge.store.tokens[bridge.member_id]
    assert bridge.transport.count(OAUTH_PATH) == 1
    assert after.access_token != before.access_token
    assert after.refresh_token != before.refresh_token  # contract §5.1: rotated, and we kept the new one
    async with httpx.AsyncClient() as http:
        with pytest.raises(AuthRevokedError) as spent:
            await request_refresh(
                http,
                oauth_base_url(before.server_endpoint),
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                refresh_token=before.refresh_token,
                now=time.time(),
            )
    assert spent.value.code == "invalid_grant"


async def test_tokens_never_reach_the_logs(
    sandbox: SandboxProcess, bridge: Bridge, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    before = bridge.store.tokens[bridge.member_id]
    sandbox.control("POST", "/tokens/expire")
    await bridge.client.call(bridge.member_id, "app.info")
    after = bridge.store.tokens[bridge.member_id]
    logged = " ".join(repr(vars(record)) for record in caplog.records)
    assert "app.info" in logged  # the call was logged, with its method
    for secret in (
        before.access_token,
        before.refresh_token,
        after.access_token,
        after.refresh_token,
        CLIENT_SECRET,
    ):
        assert secret not in logged


async def test_concurrent_expiries_make_one_oauth_call(sandbox: SandboxProcess, bridge: Bridge) -> None:
    sandbox.control("POST", "/tokens/expire")
    async with asyncio.timeout(30):
        responses = await asyncio.gather(
            *(bridge.client.call(bridge.member_id, "app.info") for _ in range(8))
        )
    assert all(response.result["INSTALLED"] is True for response in responses)
    assert bridge.transport.count(OAUTH_PATH) == 1
    assert bridge.store.refreshes_saved == 1


async def test_dead_refresh_token_means_reinstall(sandbox: SandboxProcess, bridge: Bridge) -> None:
    tokens = bridge.store.tokens[bridge.member_id]
    bridge.store.tokens[bridge.member_id] = replace(tokens, refresh_token="0" * 32)
    sandbox.control("POST", "/tokens/expire")
    with pytest.raises(AuthRevokedError):
        await bridge.client.call(bridge.member_id, "app.info")


async def test_given_token_is_not_refreshed(
    sandbox: SandboxProcess, bridge: Bridge, installed: dict[str, Any]
) -> None:
    caller = bridge.client.for_token(
        bridge.member_id, installed["client_endpoint"], installed["access_token"]
    )
    assert (await caller.call("app.info")).result["INSTALLED"] is True
    sandbox.control("POST", "/tokens/expire")
    with pytest.raises(TokenExpiredError):
        await caller.call("app.info")
    assert bridge.transport.count(OAUTH_PATH) == 0


async def test_domain_change_is_followed_and_stored(sandbox: SandboxProcess, bridge: Bridge) -> None:
    new_domain = f"localhost:{sandbox.port}"
    sandbox.control("PUT", "/faults", {"domain": new_domain})
    response = await bridge.client.call(bridge.member_id, "app.info")
    assert response.result["INSTALLED"] is True
    assert bridge.store.moves == [(f"http://{new_domain}/rest/", new_domain)]
    await bridge.client.call(bridge.member_id, "app.info")
    assert len(bridge.store.moves) == 1  # the stored endpoint is used from now on
    rest_hosts = [path for path in bridge.transport.paths if path.startswith("/rest/")]
    assert len(rest_hosts) == 3  # 302, retry, second call


async def test_503_storm_is_retryable_and_drains_the_bucket(
    sandbox: SandboxProcess, installed: dict[str, Any]
) -> None:
    limiter = LocalLeakyBucket(RateLimit(50, 2.0))
    made = make_bridge(installed, limiter)
    sandbox.control(
        "PUT", "/faults", {"errors": [{"method": "app.info", "status": 503, "error": "QUERY_LIMIT_EXCEEDED"}]}
    )
    try:
        for _ in range(3):
            with pytest.raises(RetryableError) as caught:
                await made.client.call(made.member_id, "app.info")
            assert caught.value.code == "QUERY_LIMIT_EXCEEDED"
            assert caught.value.status == 503
    finally:
        await made.client.aclose()
    assert limiter.reserve(made.member_id) > 0  # the portal said "full": we believe it


async def test_operation_time_limit_carries_the_reset_time(sandbox: SandboxProcess, bridge: Bridge) -> None:
    sandbox.control("PUT", "/limits", {"operating_limit": 0})
    first = await bridge.client.call(bridge.member_id, "app.info")
    assert first.time is not None
    with pytest.raises(RetryableError) as caught:
        await bridge.client.call(bridge.member_id, "app.info")
    assert (caught.value.code, caught.value.status) == ("OPERATION_TIME_LIMIT", 429)
    assert caught.value.retry_at == first.time["operating_reset_at"]
    other = await bridge.client.call(bridge.member_id, "imopenlines.config.list.get")  # §4: per method
    assert isinstance(other.result, list)


async def test_read_timeout_is_ambiguous(sandbox: SandboxProcess, bridge: Bridge) -> None:
    sandbox.control("PUT", "/faults", {"holds": [{"method": "app.info", "seconds": 3}]})
    with pytest.raises(AmbiguousError):
        await bridge.client.call(bridge.member_id, "app.info", timeouts=Timeouts(connect=1, read=0.3))


async def test_refused_connection_is_retryable(bridge: Bridge) -> None:
    caller = bridge.client.for_token(bridge.member_id, f"http://127.0.0.1:{free_port()}/rest/", "token")
    with pytest.raises(RetryableError) as caught:
        await caller.call("app.info")
    assert caught.value.code == "NETWORK_ERROR"


async def test_unknown_method_is_permanent(bridge: Bridge) -> None:
    with pytest.raises(PermanentError) as caught:
        await bridge.client.call(bridge.member_id, "no.such.method")
    assert (caught.value.code, caught.value.status) == ("ERROR_METHOD_NOT_FOUND", 404)


async def test_batch_of_fifty(bridge: Bridge) -> None:
    commands = {
        f"line{line}": ("imconnector.status", {"CONNECTOR": "h4conn", "LINE": line}) for line in range(50)
    }
    await bridge.client.call(bridge.member_id, "imconnector.register", registration_params())
    result = await bridge.client.batch(bridge.member_id, commands)
    assert result.errors == {}
    assert len(result.results) == 50
    assert int(result.get("line7")["LINE"]) == 7
    assert result.get("line7")["STATUS"] is False


async def test_batch_reports_errors_per_command(bridge: Bridge) -> None:
    result = await bridge.client.batch(
        bridge.member_id,
        {
            "ok": ("app.info", {}),
            "bad": ("imconnector.activate", {"CONNECTOR": "h4conn"}),  # LINE and ACTIVE missing
        },
    )
    assert result.get("ok")["INSTALLED"] is True
    assert isinstance(result.errors["bad"], PermanentError)
    with pytest.raises(PermanentError):
        result.get("bad")


async def test_batch_halt_stops_at_the_first_error(bridge: Bridge) -> None:
    result = await bridge.client.batch(
        bridge.member_id,
        {"bad": ("imconnector.activate", {"CONNECTOR": "h4conn"}), "later": ("app.info", {})},
        halt=True,
    )
    assert set(result.errors) == {"bad"}
    with pytest.raises(KeyError, match="did not run"):
        result.get("later")


async def test_batch_over_fifty_is_refused_before_sending(bridge: Bridge) -> None:
    with pytest.raises(ValueError, match=r"1\.\.50"):
        await run_batch(
            bridge.client.for_portal(bridge.member_id), {str(n): ("app.info", {}) for n in range(51)}
        )
    assert bridge.transport.paths == []


@pytest.mark.slow
async def test_rate_limit_keeps_the_portal_below_its_bucket(
    sandbox: SandboxProcess, installed: dict[str, Any]
) -> None:
    sandbox.control("PUT", "/limits", {"rate": "50/2"})
    made = make_bridge(installed, LocalLeakyBucket(RateLimit(50, 2.0)))
    started = time.monotonic()
    try:
        async with asyncio.timeout(30):
            await asyncio.gather(*(made.client.call(made.member_id, "app.info") for _ in range(56)))
    finally:
        await made.client.aclose()
    assert time.monotonic() - started >= 3.0  # 49 at once, then 2 per second
    statuses = {call["status"] for call in sandbox.control("GET", "/calls?method=app.info")["calls"]}
    assert statuses == {200}


def registration_params() -> dict[str, Any]:
    return {
        "ID": "h4conn",
        "NAME": "H4 connector",
        "ICON": {"DATA_IMAGE": "data:image/svg+xml,%3Csvg/%3E"},
        "PLACEMENT_HANDLER": "http://127.0.0.1:9/placement",
    }
