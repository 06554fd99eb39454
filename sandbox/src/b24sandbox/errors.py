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
