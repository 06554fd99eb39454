"""Errors the sandbox answers with, exactly as Bitrix24 spells them.

    SandboxError
    ├── RestError      a REST method failed: {"error", "error_description"[, "argument"]}, no `time`
    │                  (contract §2.3); status and code per the contract tables
    └── OAuthError     the OAuth token endpoint refused: {"error", "error_description"} (contract §5.3)

A handler raises one of these; the transport turns it into the wire answer. Anything else that
escapes a handler is a sandbox bug and is answered as 500 INTERNAL_SERVER_ERROR without a traceback.
"""

from __future__ import annotations


class SandboxError(Exception):
    """Base of every error the sandbox answers with on purpose."""


class RestError(SandboxError):
    """A REST call failed the way Bitrix24 fails it."""

    def __init__(self, code: str, description: str, status: int = 400, argument: str | None = None) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.status = status
        self.argument = argument

    def body(self) -> dict[str, str]:
        """The error envelope of contract §2.3 (no `time` object)."""
        out = {"error": self.code, "error_description": self.description}
        if self.argument is not None:
            out["argument"] = self.argument
        return out


def argument_null(name: str) -> RestError:
    """400 ERROR_ARGUMENT for a missing or empty parameter (contract §8.3, §8.7)."""
    return RestError("ERROR_ARGUMENT", f"Argument '{name}' is null or empty", 400, argument=name)


class OAuthError(SandboxError):
    """The OAuth server refused a token request (contract §5.3)."""

    def __init__(self, code: str, description: str, status: int = 400) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.status = status


# Transport-level errors of contract §2.3 and §5.4, with the texts the REST server uses.


def no_auth_found() -> RestError:
    """401 NO_AUTH_FOUND: no token, or a webhook with a wrong code (contract §5.4)."""
    return RestError("NO_AUTH_FOUND", "Wrong authorization data", 401)


def invalid_token() -> RestError:
    """401 invalid_token: a token the portal never issued (contract §5.4)."""
    return RestError("invalid_token", "Unable to get application by token", 401)


def expired_token() -> RestError:
    """401 expired_token (contract §5.4)."""
    return RestError("expired_token", "The access token provided has expired.", 401)


def method_not_found() -> RestError:
    """404 ERROR_METHOD_NOT_FOUND (contract §2.3)."""
    return RestError("ERROR_METHOD_NOT_FOUND", "Method not found!", 404)


def insufficient_scope() -> RestError:
    """403 insufficient_scope (contract §2.3 table)."""
    return RestError(
        "insufficient_scope", "The request requires higher privileges than provided by the access token", 403
    )


def wrong_auth_type() -> RestError:
    """403 WRONG_AUTH_TYPE: an app-only method called through a webhook (contract §2.1, §8)."""
    description = "Current authorization type is denied for this method Application context required"
    return RestError("WRONG_AUTH_TYPE", description, 403)


def query_limit_exceeded() -> RestError:
    """503 QUERY_LIMIT_EXCEEDED from the leaky bucket (contract §4)."""
    return RestError("QUERY_LIMIT_EXCEEDED", "Too many requests", 503)


def operation_time_limit() -> RestError:
    """429 OPERATION_TIME_LIMIT from the operating-time limiter (contract §4)."""
    return RestError("OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.", 429)


def internal_error() -> RestError:
    """500 INTERNAL_SERVER_ERROR for a sandbox bug; never carries a traceback (contract §2.3)."""
    return RestError("INTERNAL_SERVER_ERROR", "Internal server error", 500)


def access_denied(description: str, status: int = 403) -> RestError:
    """ACCESS_DENIED (app.info without app context is a 400, contract §5.5; event rights 403, §7.1)."""
    return RestError("ACCESS_DENIED", description, status)
