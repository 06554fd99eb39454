"""Control API for lines, operators, sessions and conversation state (mounted under `/_sandbox`).

Bad input raises `ControlError` (answered as 4xx `{"error", "error_description"}`); bodies and path
values are parsed here rather than by FastAPI so that its 422 shape never leaks out.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from b24sandbox.control.deps import ControlError, get_portal
from b24sandbox.errors import SandboxError
from b24sandbox.openlines import operator, views
from b24sandbox.openlines.state import OpenLines, UnknownLineError

router = APIRouter()


Endpoint = Callable[..., Awaitable[Any]]


def _operator_errors(endpoint: Endpoint) -> Endpoint:
    """Turn the errors of `operator` and unknown lines into `ControlError` (404 / 409)."""

    @functools.wraps(endpoint)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await endpoint(*args, **kwargs)
        except (operator.NotFoundError, UnknownLineError) as exc:
            raise ControlError(404, "NOT_FOUND", str(exc)) from None
        except operator.RefusedError as exc:
            raise ControlError(409, "REFUSED", str(exc)) from None

    return wrapper


def _openlines(request: Request) -> OpenLines:
    """The current portal's Open Channels state (the portal changes on reset, so never cache it)."""
    return get_portal(request).openlines


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ControlError(400, "BAD_REQUEST", "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ControlError(400, "BAD_REQUEST", "the body must be a JSON object")
    return body


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ControlError(400, "BAD_REQUEST", f"{name} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ControlError(400, "BAD_REQUEST", f"{name} must be an integer") from None


def _str(body: dict[str, Any], name: str, *, default: str | None = None) -> str:
    value = body.get(name, default)
    if not isinstance(value, str):
        raise ControlError(400, "BAD_REQUEST", f"{name} must be a string")
    return value


def _bool(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise ControlError(400, "BAD_REQUEST", f"{name} must be a boolean")
    return value


def _uploads(body: dict[str, Any]) -> list[operator.UploadedFile]:
    raw = body.get("files", [])
    if not isinstance(raw, list):
        raise ControlError(400, "BAD_REQUEST", "files must be a list")
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise ControlError(400, "BAD_REQUEST", "each file must be an object")
        try:
            content = base64.b64decode(_str(item, "content_base64"), validate=True)
        except (binascii.Error, ValueError):
            raise ControlError(400, "BAD_REQUEST", "content_base64 is not valid base64") from None
        mime = item.get("mime")
        out.append(
            operator.UploadedFile(_str(item, "name"), content, mime if isinstance(mime, str) else None)
        )
    return out


@router.post("/lines")
@_operator_errors
async def create_line(request: Request) -> Any:
    """Create a line: `{"name", "active"?}` → the line."""
    body = await _body(request)
    line = _openlines(request).add_line(
        _str(body, "name", default="Open Channel"), active=_bool(body, "active", True)
    )
    if "show_operator_name" in body:
        line.show_operator_name = _bool(body, "show_operator_name", True)
    return JSONResponse(views.line_view(line), status_code=201)


@router.get("/lines")
async def list_lines(request: Request) -> Any:
    """Every line."""
    return [views.line_view(line) for line in _openlines(request).lines.values()]


@router.delete("/lines/{line_id}")
@_operator_errors
async def delete_line(request: Request, line_id: str) -> Any:
    """Delete a line (StatusDelete per connector, then LineDelete)."""
    _openlines(request).delete_line(_int(line_id, "line_id"), user_id=1)
    return {"deleted": True}


@router.post("/lines/{line_id}/connectors/{connector}/disconnect")
@_operator_errors
async def disconnect(request: Request, line_id: str, connector: str) -> Any:
    """Turn a connector off on a line (StatusDelete)."""
    operator.disconnect(_openlines(request), _int(line_id, "line_id"), connector, operator_id=1)
    return {"disconnected": True}


@router.get("/connectors")
async def list_connectors(request: Request) -> Any:
    """Registered connectors and every status row."""
    openlines = _openlines(request)
    return {
        "connectors": [views.connector_view(c) for c in openlines.connectors.values()],
        "statuses": [views.status_view(row) for row in openlines.statuses.values()],
    }


@router.post("/operator/messages")
@_operator_errors
async def operator_send(request: Request) -> Any:
    """An operator writes into a chat: `{line, chat_id, connector, text?, files?, operator_id?}`."""
    body = await _body(request)
    openlines = _openlines(request)
    chat = operator.find_chat(
        openlines, _int(body.get("line"), "line"), _str(body, "connector"), _str(body, "chat_id")
    )
    message = operator.send(
        openlines,
        chat,
        operator_id=_int(body.get("operator_id", 2), "operator_id"),
        text=_str(body, "text", default=""),
        uploads=_uploads(body),
    )
    return JSONResponse(
        {
            "bitrix_message_id": message.message_id,
            "bitrix_chat_id": chat.chat_id,
            "session_id": message.session_id,
        },
        status_code=201,
    )


@router.patch("/operator/messages/{message_id}")
@_operator_errors
async def operator_edit(request: Request, message_id: str) -> Any:
    """An operator edits a message: `{text, operator_id?}`."""
    body = await _body(request)
    openlines = _openlines(request)
    message = operator.edit(
        openlines,
        _int(message_id, "message_id"),
        text=_str(body, "text"),
        operator_id=_int(body.get("operator_id", 2), "operator_id"),
    )
    return views.message_view(openlines, message)


@router.delete("/operator/messages/{message_id}")
@_operator_errors
async def operator_delete(request: Request, message_id: str) -> Any:
    """An operator deletes a message."""
    openlines = _openlines(request)
    message = operator.delete(openlines, _int(message_id, "message_id"), operator_id=2)
    return views.message_view(openlines, message)


@router.post("/sessions/{session_id}/close")
@_operator_errors
async def close_session(request: Request, session_id: str) -> Any:
    """Close a session (DialogFinish)."""
    operator.close_session(_openlines(request), _int(session_id, "session_id"), operator_id=2)
    return {"closed": True}


@router.get("/conversations")
async def list_conversations(request: Request) -> Any:
    """Every chat without its messages."""
    return views.conversation_views(_openlines(request))


@router.get("/conversations/{chat_id}")
@_operator_errors
async def get_conversation(request: Request, chat_id: str) -> Any:
    """One chat with its messages."""
    openlines = _openlines(request)
    chat = openlines.chats.get(_int(chat_id, "chat_id"))
    if chat is None:
        raise ControlError(404, "NOT_FOUND", f"no conversation {chat_id}")
    customer = next((c for c in openlines.customers.values() if c.user_id == chat.customer_user_id), None)
    return views.conversation_view(openlines, chat, customer, with_messages=True)


@router.get("/disk/{file_id}/{name}")
@_operator_errors
async def download_file(request: Request, file_id: str, name: str) -> Any:
    """Bytes of a portal file behind an operator `files[].link` (contract §9.1, §16 #4)."""
    openlines = _openlines(request)
    stored = openlines.files.get(_int(file_id, "file_id"))
    if stored is None:
        raise ControlError(404, "NOT_FOUND", "no such file")
    if openlines.variants.file_links_need_auth:
        _check_portal_token(request)
    elif not hmac.compare_digest(request.query_params.get("token", ""), stored.token):
        raise ControlError(404, "NOT_FOUND", "no such file")
    return Response(stored.content, media_type=stored.mime)


def _check_portal_token(request: Request) -> None:
    """The `auth` query parameter must be a live access token of the portal."""
    token = request.query_params.get("auth") or request.headers.get("authorization", "").removeprefix(
        "Bearer "
    )
    if not token:
        raise ControlError(401, "NO_AUTH_FOUND", "Wrong authorization data")
    try:
        get_portal(request).tokens.resolve(token)
    except SandboxError as exc:
        raise ControlError(401, "invalid_token", str(exc)) from None
