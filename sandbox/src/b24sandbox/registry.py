"""The table of REST methods the sandbox implements.

A method module registers its handlers with `@rest_method(...)`. The transport looks a method up by
its lower-cased name (contract §2.1: names are case-insensitive), checks auth and scope, and calls
the handler with a `CallContext`. Handlers return the `result` value or raise `RestError`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from b24sandbox.portal import App, Portal

AuthKind = Literal["oauth", "webhook"]


@dataclass
class CallContext:
    """Everything a handler may need about the call it serves."""

    portal: Portal
    params: dict[str, Any]
    auth_kind: AuthKind
    user_id: int
    app: App | None = None
    # Set by batch for its sub-calls, so that nested batch can be refused (contract §3).
    in_batch: bool = False


Handler = Callable[[CallContext], Awaitable[Any]]


@dataclass(frozen=True)
class RestMethod:
    """One registered REST method."""

    name: str
    handler: Handler
    scope: str
    app_only: bool = False
    # Result wrapping quirk of contract §2.3 / §14.1: a dict with error+error_description is
    # returned un-wrapped with HTTP 200 (register/unregister failures).
    passthrough_errors: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


_METHODS: dict[str, RestMethod] = {}


def rest_method(
    name: str, *, scope: str, app_only: bool = False, passthrough_errors: bool = False
) -> Callable[[Handler], Handler]:
    """Register a handler under a REST method name (stored lower-cased)."""

    def register(handler: Handler) -> Handler:
        key = name.lower()
        if key in _METHODS:
            raise RuntimeError(f"REST method {name} registered twice")
        _METHODS[key] = RestMethod(key, handler, scope, app_only, passthrough_errors)
        return handler

    return register


def find_method(name: str) -> RestMethod | None:
    """The method registered under `name` (any case), or None."""
    return _METHODS.get(name.lower())


def all_methods() -> dict[str, RestMethod]:
    """Every registered method by lower-cased name."""
    return dict(_METHODS)
