"""The official SDK meeting the sandbox's limits (contract §2.3, §4): it retries HTTP 503 only, up
to three attempts in all, and gives up with its own error type."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from b24pysdk import Config
from b24pysdk.errors import BitrixAPIQueryLimitExceeded
from sandbox.tests.sdk_support import (
    SdkPortal,
    portal_fixture,  # noqa: F401  (the `portal` fixture)
)


@pytest.fixture(autouse=True)
def quick_retries() -> Iterator[None]:
    """The SDK's retry pause shortened from 1 s + 1 s (its thread-local setting, restored after)."""
    config = Config()
    saved = (config.default_initial_retry_delay, config.default_retry_delay_increment)
    config.configure(default_initial_retry_delay=0.01, default_retry_delay_increment=0)
    yield
    config.default_initial_retry_delay, config.default_retry_delay_increment = saved


def _refuse(portal: SdkPortal, count: int) -> None:
    rule = {"method": "imconnector.list", "count": count, "status": 503, "error": "QUERY_LIMIT_EXCEEDED"}
    portal.ok("faults", {"errors": [rule]}, verb="PUT")


def _statuses(portal: SdkPortal) -> list[int]:
    return [c["status"] for c in portal.calls("imconnector.list")]


def test_the_sdk_retries_a_503_and_succeeds(portal: SdkPortal) -> None:
    _refuse(portal, 2)
    assert "livechat" in portal.client.imconnector.list().result
    assert _statuses(portal) == [503, 503, 200]


def test_the_sdk_gives_up_after_three_attempts(portal: SdkPortal) -> None:
    _refuse(portal, 3)
    with pytest.raises(BitrixAPIQueryLimitExceeded):
        portal.client.imconnector.list().call()
    assert _statuses(portal) == [503, 503, 503]


def test_the_leaky_bucket_refuses_the_sdk_beyond_the_burst(portal: SdkPortal) -> None:
    portal.ok("limits", {"rate": "3/0"}, verb="PUT")  # a burst of 3, never draining
    for _ in range(3):
        portal.client.imconnector.list().call()
    with pytest.raises(BitrixAPIQueryLimitExceeded):  # contract §4: 503 QUERY_LIMIT_EXCEEDED
        portal.client.imconnector.list().call()
    assert _statuses(portal) == [200, 200, 200, 503, 503, 503]
