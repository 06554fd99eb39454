"""The OAuth token endpoint `/oauth/token/` (contract §5.2, §5.3).

The sandbox is its own authorization server: `grant_type=refresh_token` rotates the refresh token,
`grant_type=authorization_code` redeems a code issued through the control API. Parameters come
from the query string (the SDK sends a GET) or a form body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.types import Receive, Scope, Send

from b24sandbox.errors import OAuthError
from b24sandbox.oauth import TokenPair
from b24sandbox.request_params import query_pairs
from b24sandbox.transport import dump, read_body, send_json

if TYPE_CHECKING:
    from b24sandbox.portal import App, Portal


def token_response(portal: Portal, app: App, pair: TokenPair) -> dict[str, Any]:
    """The token answer of contract §5.2; `domain` is the OAuth host, not the portal."""
    return {
        "access_token": pair.access.token,
        "client_endpoint": portal.client_endpoint,
        "domain": portal.oauth_domain,
        "expires": int(pair.access.expires),
        "expires_in": pair.lifetime,
        "member_id": portal.member_id,
        "refresh_token": pair.refresh.token,
        "scope": ",".join(app.scope),
        "server_endpoint": portal.server_endpoint,
        "status": app.status,
        "user_id": pair.access.user_id,
    }


def _client(portal: Portal, params: dict[str, str]) -> App:
    app = portal.apps.get(params.get("client_id", ""))
    if app is None or app.client_secret != params.get("client_secret") or not app.installed:
        raise OAuthError("invalid_client", "Invalid client credentials")  # contract §5.3
    return app


def grant(portal: Portal, params: dict[str, str]) -> dict[str, Any]:
    """Answer one token request or raise OAuthError."""
    grant_type = params.get("grant_type", "")
    if grant_type not in ("refresh_token", "authorization_code"):
        raise OAuthError("invalid_request", "Unsupported or missing grant_type")
    app = _client(portal, params)
    if grant_type == "refresh_token":
        if not params.get("refresh_token"):
            raise OAuthError("invalid_request", "refresh_token is required")
        pair = portal.tokens.refresh(app.client_id, params["refresh_token"])
    else:
        if not params.get("code"):
            raise OAuthError("invalid_request", "code is required")
        pair = portal.tokens.redeem_code(app.client_id, params["code"])
    return token_response(portal, app, pair)


class OAuthEndpoint:
    """ASGI app for `/oauth/token/`."""

    def __init__(self, portal: Callable[[], Portal]) -> None:
        self._portal = portal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive)
        params = dict(query_pairs(scope.get("query_string", b"")))
        params.update(query_pairs(body))
        try:
            answer = grant(self._portal(), params)
        except OAuthError as error:
            refusal = {"error": error.code, "error_description": error.description}
            await send_json(send, error.status, dump(refusal))
            return
        await send_json(send, 200, dump(answer))
