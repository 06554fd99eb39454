"""Saving the in-memory portal to a JSON file and restoring it (`/_sandbox/state/save|restore`).

Saved: identity (domain, member_id), clock offset, users, apps, tokens, webhooks, event bindings,
limits, and the Open Channels state (`OpenLines.to_json` / `load_json`).
Not saved: the delivery and call logs, queued events, injected faults.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from b24sandbox.events import Binding
from b24sandbox.portal import App, Portal, User, Webhook

FORMAT = 1


def dump_state(portal: Portal) -> dict[str, Any]:
    """The portal as JSON-ready data."""
    state: dict[str, Any] = {
        "format": FORMAT,
        "domain": portal.domain,
        "protocol": portal.protocol,
        "oauth_host": portal.oauth_host,
        "old_domains": sorted(portal.old_domains),
        "member_id": portal.member_id,
        "clock_offset": portal.clock.offset,
        "users": [asdict(u) for u in portal.users.values()],
        "apps": [asdict(a) for a in portal.apps.values()],
        "tokens": portal.tokens.to_json(),
        "webhooks": [asdict(w) for w in portal.webhooks.values()],
        "bindings": [asdict(b) for b in portal.bus.bindings.values()],
        "limits": {
            "rate": portal.limits.rate,
            "operating_limit": portal.limits.operating.limit if portal.limits.operating else None,
        },
    }
    state["openlines"] = portal.openlines.to_json()
    return state


def load_state(state: dict[str, Any]) -> Portal:
    """A new portal rebuilt from `dump_state` output; ValueError when the data does not fit."""
    if state.get("format") != FORMAT:
        raise ValueError(f"unsupported state format {state.get('format')!r}")
    try:
        portal = Portal(
            domain=state["domain"],
            protocol=state["protocol"],
            member_id=state["member_id"],
            oauth_host=state["oauth_host"],
        )
        portal.old_domains = set(state["old_domains"])
        portal.clock.advance(float(state["clock_offset"]))
        portal.users = {u["user_id"]: User(**u) for u in state["users"]}
        portal.apps = {a["client_id"]: App(**a) for a in state["apps"]}
        portal.tokens.load_json(state["tokens"])
        portal.webhooks = {w["code"]: Webhook(**w) for w in state["webhooks"]}
        portal.bus.restore_bindings([Binding(**b) for b in state["bindings"]])
        portal.limits.set_rate(state["limits"]["rate"])
        portal.limits.set_operating_limit(state["limits"]["operating_limit"])
        portal.openlines.load_json(state["openlines"])
    except (KeyError, TypeError) as exc:
        raise ValueError(f"state file does not match the format: {exc}") from exc
    return portal
