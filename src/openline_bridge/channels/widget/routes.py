"""The REST routes of the visitor protocol v1 (docs/protocol.md §6).

Each conversation route resolves the caller with :func:`visitor_access` (per-IP bucket, then the token
and ``Origin`` check of ``auth.authorize``, then the visitor's bucket): no route takes a conversation id,
the conversation is the token's. The work itself is the relay's use-cases; nothing here calls Bitrix24.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from openline_bridge.channels.widget.auth import authorize
from openline_bridge.channels.widget.config import limits_json, public_config
from openline_bridge.channels.widget.context import WidgetApi, get_widget_api
from openline_bridge.channels.widget.errors import WidgetError, refusal
from openline_bridge.channels.widget.ratelimit import Bucket, VisitorLimits
from openline_bridge.channels.widget.responses import JsonReply
from openline_bridge.channels.widget.routing import (
    JSON_BODY_LIMIT,
    WidgetRoute,
    body_too_large,
    parse_json_body,
    require_json,
    widget_refusal,
)
from openline_bridge.channels.widget.schemas import (
    AttachmentReply,
    EditRequest,
    EventsPage,
    MessageReply,
    MessageRequest,
    ProfileReply,
    ProfileRequest,
    ReadReply,
    ReadRequest,
    SessionReply,
    SessionRequest,
)
from openline_bridge.channels.widget.sessions import open_session
from openline_bridge.relay import uploads, visitor_inbound
from openline_bridge.relay.serialize import event_json, with_attachment_urls
from openline_bridge.relay.visitor_inbound import UNCHANGED, Posted
from openline_bridge.store.conversation_events import last_seq, list_events
from openline_bridge.store.visitor_tokens import TokenAccess
from openline_bridge.web.direct import DirectRequest, DirectRoute, json_body, json_reply

__all__ = ["POST_MESSAGE_ROUTE", "bearer_token", "enforce", "grant", "router"]

router = APIRouter(prefix="/api/v1", route_class=WidgetRoute, tags=["visitor protocol v1"])

_bearer = HTTPBearer(auto_error=False, description="The visitor token from POST /widgets/{key}/sessions")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def _widget_api(connection: HTTPConnection) -> WidgetApi:
    # A coroutine on purpose: FastAPI runs a plain ``def`` dependency on its thread pool, which cost
    # every request a thread hop (measured on the message path, bench/visitor_ack.py).
    return get_widget_api(connection)


Api = Annotated[WidgetApi, Depends(_widget_api)]
_UPLOAD_CHUNK = 64 * 1024
_MULTIPART_OVERHEAD = 64 * 1024  # part headers and boundaries around the one file


async def enforce(api: WidgetApi, bucket: Bucket, key: str) -> None:
    """Take a token of ``bucket`` for ``key`` or refuse with ``429 rate_limited`` (protocol §2.4)."""
    wait = await api.limiter.take(bucket, key)
    if wait is not None:
        raise WidgetError(429, "rate_limited", "too many requests; retry later", retry_after=wait)


def _client_ip(connection: HTTPConnection) -> str:
    # protocol §2.4: the socket peer (uvicorn resolves X-Forwarded-For of declared proxies only)
    return connection.client.host if connection.client is not None else "unknown"


async def grant(api: WidgetApi, connection: HTTPConnection, token: str | None, bucket: Bucket) -> TokenAccess:
    """The caller's conversation: the per-IP bucket, the token and ``Origin`` check, then the visitor's
    ``bucket``."""
    await enforce(api, api.limits.per_ip, _client_ip(connection))
    granted = await authorize(api, connection, token)
    await enforce(api, bucket, f"v{granted.visitor_id}")
    return granted


def bearer_token(connection: HTTPConnection) -> str | None:
    """The token of an ``Authorization: Bearer`` header, as FastAPI's ``HTTPBearer`` reads it."""
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def visitor_access(
    bucket_of: Callable[[VisitorLimits], Bucket],
) -> Callable[[Request, WidgetApi, HTTPAuthorizationCredentials | None], Awaitable[TokenAccess]]:
    """A dependency resolving the caller's conversation, rate limited by the visitor's ``bucket_of``."""

    async def access(request: Request, api: Api, credentials: Credentials) -> TokenAccess:
        token = credentials.credentials if credentials else None
        return await grant(api, request, token, bucket_of(api.limits))

    return access


Writer = Annotated[TokenAccess, Depends(visitor_access(lambda limits: limits.message_writes))]
Reader = Annotated[TokenAccess, Depends(visitor_access(lambda limits: limits.other))]
Uploader = Annotated[TokenAccess, Depends(visitor_access(lambda limits: limits.uploads))]


def _signed(api: WidgetApi, message: dict[str, Any]) -> dict[str, Any]:
    signed: dict[str, Any] = with_attachment_urls({"message": message}, api.relay.signer.visitor_url)[
        "message"
    ]
    return signed


def _message_reply(api: WidgetApi, posted: Posted, status: int = 200) -> JsonReply:
    return JsonReply({"message": _signed(api, posted.message), "seq": posted.seq}, status_code=status)


@router.post(
    "/widgets/{widget_key}/sessions",
    response_model=SessionReply,
    status_code=201,
    responses={200: {"model": SessionReply, "description": "an existing visitor resumed"}},
)
async def create_session(
    request: Request,
    api: Api,
    credentials: Credentials,
    widget_key: Annotated[str, Path(min_length=1, max_length=64)],
    body: Annotated[SessionRequest, Body()] = SessionRequest(),  # noqa: B008 -- immutable default: {}
) -> JsonReply:
    """Create a visitor or resume one (protocol §6.1, signed identity §2.2)."""
    await enforce(api, api.limits.sessions_per_ip, _client_ip(request))
    opened = await open_session(
        api, request, widget_key, body, credentials.credentials if credentials else None
    )
    visitor = opened.visitor
    if body.name is not None or body.email is not None:
        profile = await visitor_inbound.change_profile(
            api.relay,
            opened.visitor_id,
            name=body.name if body.name is not None else UNCHANGED,
            email=body.email if body.email is not None else UNCHANGED,
        )
        visitor = {"name": profile.name, "email": profile.email, "identified": profile.identified}
    relay = api.relay
    return JsonReply(
        {
            "token": opened.token,
            "visitor": visitor,
            "conversation": opened.conversation,
            "config": public_config(opened.look, opened.greeting),
            "limits": limits_json(relay.file_policy, relay.message_max_chars),
            "live": {"url": api.live_url, "heartbeat_interval": int(api.heartbeat_seconds)},
        },
        status_code=201 if opened.created else 200,
    )


@router.get("/conversation/events", response_model=EventsPage)
async def conversation_events(
    api: Api,
    access: Reader,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> JsonReply:
    """Events with ``seq > after``, oldest first, at most ``limit`` (protocol §6.2)."""
    async with api.relay.database.read() as session:
        page = await list_events(session, access.conversation_id, after=after, limit=limit + 1)
        latest = await last_seq(session, access.conversation_id)
    sign = api.relay.signer.visitor_url
    events = [with_attachment_urls(event_json(event), sign) for event in page[:limit]]
    return JsonReply({"events": events, "last_seq": latest, "has_more": len(page) > limit})


async def post_message(request: DirectRequest) -> Response:
    """Send a message, idempotent on ``client_message_id`` (protocol §6.3).

    Served directly (``web.direct``: the busiest route of the visitor API), with the checks, their order
    and the refusals of the other routes: JSON body, token and rate limits, then the body's fields.
    """
    connection = request.connection
    api = get_widget_api(connection)
    try:
        require_json(connection.headers, request.body)
        access = await grant(api, connection, bearer_token(connection), api.limits.message_writes)
        body = parse_json_body(MessageRequest, request.body)
        posted = await visitor_inbound.accept_message(
            api.relay, access.conversation_id, body.client_message_id, body.text, body.attachment_ids
        )
    except Exception as exc:
        answer = widget_refusal(exc)
        if answer is None:
            raise
        return answer
    return _message_reply(api, posted, 201 if posted.created else 200)


POST_MESSAGE_ROUTE = DirectRoute(
    method="POST",
    path=f"{router.prefix}/conversation/messages",
    handler=post_message,
    body_limit=JSON_BODY_LIMIT,
    too_large=lambda: refusal(body_too_large()),
    operation={
        "tags": router.tags,
        "summary": "Post Message",
        "description": "Send a message, idempotent on `client_message_id` (protocol §6.3).",
        "operationId": "post_message",
        "security": [{"HTTPBearer": []}],
        "requestBody": json_body(MessageRequest),
        "responses": {
            "201": json_reply(MessageReply, "the message, stored"),
            "200": json_reply(MessageReply, "a repeated client_message_id: the message stored first"),
        },
    },
    models=(MessageRequest, MessageReply),
)


@router.patch("/conversation/messages/{message_id}", response_model=MessageReply)
async def edit_message(
    api: Api, access: Writer, message_id: Annotated[str, Path(max_length=64)], body: EditRequest
) -> JsonReply:
    """Edit the visitor's own message (protocol §6.4)."""
    return _message_reply(
        api, await visitor_inbound.edit_message(api.relay, access.conversation_id, message_id, body.text)
    )


@router.delete("/conversation/messages/{message_id}", response_model=MessageReply)
async def delete_message(
    api: Api, access: Writer, message_id: Annotated[str, Path(max_length=64)]
) -> JsonReply:
    """Delete the visitor's own message (protocol §6.5)."""
    return _message_reply(
        api, await visitor_inbound.delete_message(api.relay, access.conversation_id, message_id)
    )


@router.post("/conversation/read", response_model=ReadReply)
async def mark_read(api: Api, access: Reader, body: ReadRequest) -> JsonReply:
    """Move the visitor's read position (protocol §6.6)."""
    return JsonReply(
        {"read_seq": await visitor_inbound.mark_read(api.relay, access.conversation_id, body.seq)}
    )


@router.post("/conversation/profile", response_model=ProfileReply)
async def change_profile(api: Api, access: Reader, body: ProfileRequest) -> JsonReply:
    """Set or clear the visitor's name and email (protocol §6.7)."""
    given = body.model_fields_set
    profile = await visitor_inbound.change_profile(
        api.relay,
        access.visitor_id,
        name=body.name if "name" in given else UNCHANGED,
        email=body.email if "email" in given else UNCHANGED,
    )
    return JsonReply(
        {"visitor": {"name": profile.name, "email": profile.email, "identified": profile.identified}}
    )


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(_UPLOAD_CHUNK):
        yield chunk


@router.post(
    "/conversation/files", response_model=AttachmentReply, status_code=201, openapi_extra=_UPLOAD_BODY
)
async def upload_file(request: Request, api: Api, access: Uploader) -> JsonReply:
    """Upload one file (multipart part ``file``); its type is detected from the content (protocol §6.8)."""
    if request.headers.get("content-type", "").split(";", 1)[0].strip().lower() != "multipart/form-data":
        raise WidgetError(415, "unsupported_media_type", "the body must be multipart/form-data")
    limit = api.relay.file_policy.max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + _MULTIPART_OVERHEAD:
        raise WidgetError(413, "file_too_large", f"file is larger than {limit} bytes")
    try:
        form = await request.form(max_files=1, max_fields=4)
    except HTTPException as exc:  # Starlette's answer to a malformed multipart body
        raise WidgetError(400, "validation_error", f"malformed multipart body: {exc.detail}") from exc
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise WidgetError(400, "validation_error", "a part named 'file' is required")
        if upload.size == 0:  # protocol §6.8: an empty file is invalid, whatever its name says
            raise WidgetError(400, "validation_error", "the file is empty")
        attachment = await uploads.accept_upload(
            api.relay, access.conversation_id, upload.filename or "file", _chunks(upload)
        )
    finally:
        await form.close()
    return JsonReply({"attachment": attachment}, status_code=201)


@router.get("/conversation/files/{attachment_id}", response_model=AttachmentReply)
async def get_file(api: Api, access: Reader, attachment_id: Annotated[str, Path(max_length=64)]) -> JsonReply:
    """An attachment of this conversation with a fresh signed URL (protocol §6.8)."""
    attachment = await uploads.attachment_for_visitor(api.relay, access.conversation_id, attachment_id)
    return JsonReply({"attachment": attachment})
