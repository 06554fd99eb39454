"""`classify` over every code and status of the contract's tables (§2.3, §5.3, §5.4, §8, §14.1)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from openline_bridge.bitrix24.errors import (
    AmbiguousError,
    AuthRevokedError,
    Bitrix24Error,
    DomainMovedError,
    LineInactiveError,
    PermanentError,
    RetryableError,
    ServerFailureError,
    TokenExpiredError,
    classify,
    error_from_envelope,
)
from openline_bridge.errors import BridgeError


def envelope(code: str) -> dict[str, str]:
    return {"error": code, "error_description": f"{code} happened"}


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        # contract §2.3 system-wide table
        (500, "INTERNAL_SERVER_ERROR", ServerFailureError),
        (500, "ERROR_UNEXPECTED_ANSWER", ServerFailureError),
        (503, "QUERY_LIMIT_EXCEEDED", RetryableError),
        (503, "OVERLOAD_LIMIT", RetryableError),
        (405, "ERROR_BATCH_METHOD_NOT_ALLOWED", PermanentError),
        (400, "ERROR_BATCH_LENGTH_EXCEEDED", PermanentError),
        (401, "NO_AUTH_FOUND", PermanentError),
        (400, "INVALID_REQUEST", PermanentError),
        (403, "ACCESS_DENIED", PermanentError),
        (403, "INVALID_CREDENTIALS", PermanentError),
        (404, "ERROR_MANIFEST_IS_NOT_AVAILABLE", PermanentError),
        (403, "insufficient_scope", PermanentError),
        (401, "insufficient_scope", PermanentError),  # §14.10: SDK files it under 401
        (401, "expired_token", TokenExpiredError),
        (401, "invalid_token", TokenExpiredError),  # §5.4: unknown token; a refresh decides
        (403, "user_access_error", PermanentError),
        (500, "PORTAL_DELETED", AuthRevokedError),  # §14.9: 500 (docs)
        (403, "PORTAL_DELETED", AuthRevokedError),  # 403 (REST source)
        (410, "PORTAL_DELETED", AuthRevokedError),  # 410 (SDK)
        (404, "ERROR_METHOD_NOT_FOUND", PermanentError),
        (429, "OPERATION_TIME_LIMIT", RetryableError),
        (400, "ERROR_ARGUMENT", PermanentError),
        # SDK's 401/403 families
        (401, "AUTHORIZATION_ERROR", PermanentError),
        (401, "APPLICATION_NOT_FOUND", AuthRevokedError),
        (401, "PAYMENT_REQUIRED", AuthRevokedError),
        (403, "WRONG_AUTH_TYPE", PermanentError),
        (403, "METHOD_CONFIRM_DENIED", PermanentError),
        # §5.3 OAuth server
        (400, "invalid_grant", AuthRevokedError),
        (400, "invalid_client", AuthRevokedError),
        (401, "NOT_INSTALLED", AuthRevokedError),
        (200, "WRONG_CLIENT", AuthRevokedError),
        (400, "invalid_request", PermanentError),
        (400, "invalid_scope", PermanentError),
        # §8 connector methods
        (400, "NOT_ACTIVE_LINE", LineInactiveError),
        (400, "IMCONNECTOR_NO_CORRECT_PROVIDER", PermanentError),
        (400, "IMCONNECTOR_NOT_SPECIFIED_CORRECT_CONNECTOR", PermanentError),
        (400, "CHAT_RENAMING_FAILED", PermanentError),
        (400, "ERROR_EVENT_NOT_FOUND", PermanentError),
        (200, "CONNECTOR_ID_REQUIRED", PermanentError),  # §14.1 source form, HTTP 200
        # an unknown code on a 5xx is still the server's fault, and the work may have been done
        (502, "SOMETHING_NEW", ServerFailureError),
        (503, "SOMETHING_NEW", RetryableError),
    ],
)
def test_error_envelopes(status: int, code: str, kind: type[Bitrix24Error]) -> None:
    error = classify(status, envelope(code))
    assert type(error) is kind
    assert isinstance(error, BridgeError)
    assert error.code == code
    assert error.status == status
    assert error.description == f"{code} happened"


def test_success_envelope_is_not_an_error() -> None:
    assert classify(200, {"result": True, "time": {"start": 1.0}}) is None
    assert classify(200, {"result": {"result": True}}) is None
    assert classify(200, {"result": False}) is None  # activate(0) on a line without a row (§8.3)


@pytest.mark.parametrize(
    "body",
    [
        {"result": False, "error": "NAME_REQUIRED", "error_description": "x"},  # §14.1 source
        {"result": {"result": False, "error": "NAME_REQUIRED", "error_description": "x"}},  # docs
    ],
)
def test_register_failure_in_both_shapes(body: dict[str, Any]) -> None:
    error = classify(200, body)
    assert isinstance(error, PermanentError)
    assert error.code == "NAME_REQUIRED"


def test_any_body_with_error_wins_over_status() -> None:
    assert isinstance(classify(200, {"error": "expired_token"}), TokenExpiredError)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (500, ServerFailureError),
        (502, ServerFailureError),
        (504, ServerFailureError),
        (503, RetryableError),
        (429, RetryableError),
        (400, PermanentError),
        (404, PermanentError),
    ],
)
def test_non_json_error_statuses(status: int, kind: type[Bitrix24Error]) -> None:
    assert type(classify(status, None)) is kind


def test_two_hundred_without_envelope_is_ambiguous() -> None:
    assert isinstance(classify(200, None), AmbiguousError)
    assert isinstance(classify(200, {"unexpected": 1}), AmbiguousError)


def test_operation_time_limit_carries_reset_time() -> None:
    error = classify(429, {"error": "OPERATION_TIME_LIMIT", "time": {"operating_reset_at": 1738066200}})
    assert isinstance(error, RetryableError)
    assert error.retry_at == 1738066200.0
    error = classify(429, {"error": "OPERATION_TIME_LIMIT", "operating_reset_at": "1738066300"})
    assert isinstance(error, RetryableError)
    assert error.retry_at == 1738066300.0


def test_redirect_to_a_new_domain() -> None:
    error = classify(302, None, location="https://renamed.bitrix24.com/rest/imconnector.status.json")
    assert isinstance(error, DomainMovedError)
    assert error.client_endpoint == "https://renamed.bitrix24.com/rest/"
    assert error.domain == "renamed.bitrix24.com"
    moved = classify(302, None, location="http://127.0.0.1:8123/rest/x.json")
    assert isinstance(moved, DomainMovedError)
    assert moved.client_endpoint == "http://127.0.0.1:8123/rest/"
    assert isinstance(classify(302, None, location="/relative"), PermanentError)
    assert isinstance(classify(302, None), PermanentError)


request = httpx.Request("POST", "https://x.bitrix24.com/rest/a.json")


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (httpx.ConnectError("refused", request=request), RetryableError),
        (httpx.ConnectTimeout("slow", request=request), RetryableError),
        (httpx.PoolTimeout("busy", request=request), RetryableError),
        (httpx.ReadTimeout("no answer", request=request), AmbiguousError),  # pitfall P17
        (httpx.WriteTimeout("half sent", request=request), AmbiguousError),
        (httpx.RemoteProtocolError("closed", request=request), AmbiguousError),
        (httpx.ReadError("reset", request=request), AmbiguousError),
    ],
)
def test_transport_errors(exc: Exception, kind: type[Bitrix24Error]) -> None:
    assert type(classify(None, None, exc)) is kind


def test_batch_sub_error_without_status() -> None:
    error = error_from_envelope({"error": "insufficient_scope", "error_description": "no"})
    assert type(error) is PermanentError
    assert error.status is None
    assert str(error) == "insufficient_scope: no"
