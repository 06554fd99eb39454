"""The POST a portal makes when it opens an app page in a frame (contract §6.3 install page, §10 placements).

Bitrix24 splits the fields: `DOMAIN`, `PROTOCOL`, `LANG`, `APP_SID` go in the query string, the
tokens and the placement in the form body. `FramePost` is one such request, ready to be rendered as
a hidden form (browser pages) or sent server-to-server (control API).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    from b24sandbox.oauth import TokenPair
    from b24sandbox.portal import App, Portal


@dataclass(frozen=True)
class FramePost:
    """One frame opening: where it goes, the form body and what `BX24.init` hands the page."""

    url: str  # the handler URL with the query string
    query: dict[str, str]
    form: dict[str, str]
    auth: dict[str, Any]


def with_query(url: str, query: dict[str, str]) -> str:
    """`url` with `query` appended (after `&` when the URL already has a query string)."""
    separator = "&" if "?" in url else "?"
    return url + separator + urlencode(query)


def frame_post(
    portal: Portal,
    app: App,
    pair: TokenPair,
    *,
    url: str,
    placement: str,
    app_sid: str,
    lang: str,
    options: str | None = None,
) -> FramePost:
    """The query and form of a frame opening, `PLACEMENT_OPTIONS` only when given (contract §6.3, §10)."""
    query = {
        "DOMAIN": portal.domain,
        "PROTOCOL": "1" if portal.protocol == "https" else "0",
        "LANG": lang,
        "APP_SID": app_sid,
    }
    form = {
        "AUTH_ID": pair.access.token,
        "AUTH_EXPIRES": str(pair.lifetime),
        "REFRESH_ID": pair.refresh.token,
        "SERVER_ENDPOINT": portal.server_endpoint,
        "APPLICATION_TOKEN": app.application_token,
        "APPLICATION_SCOPE": ",".join(app.scope),
        "member_id": portal.member_id,
        "status": app.status,
        "PLACEMENT": placement,
    }
    if options is not None:
        form["PLACEMENT_OPTIONS"] = options
    auth = {
        "access_token": pair.access.token,
        "refresh_token": pair.refresh.token,
        "expires_in": pair.lifetime,
        "domain": portal.domain,
        "member_id": portal.member_id,
        "client_endpoint": portal.client_endpoint,
    }
    return FramePost(with_query(url, query), query, form, auth)
