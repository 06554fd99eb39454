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
# Methods of this scope need no grant (app.info, profile, event.*, batch...).
BASIC_SCOPE = "basic"


@dataclass(frozen=True)
class Principal:
    """Who is calling: an app acting as a user (OAuth) or an inbound webhook of a user."""

    kind: AuthKind
    user_id: int
    app: App | None
    scope: frozenset[str]
    # Key of the operating-time limiter and of the call log: client_id or `webhook:<user_id>`.
    caller: str

    def allows(self, scope: str) -> bool:
        """Whether a method of `scope` may be called (contract §2.3 `insufficient_scope`)."""
        return scope == BASIC_SCOPE or scope in self.scope


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
    # The full caller (granted scope, limiter key); batch runs its sub-calls as the same caller.
    principal: Principal | None = None


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
