"""The operator console (`/console`): lines, conversations and messages, and the operator's actions.

Every action goes through `openlines.operator` (or `OpenLines.delete_line`), the functions the
control API uses, so the same events fire (contract §9, §15 "Operator-side simulation"). Actions are
plain HTML forms answered with a redirect; `/console/live` gives the page's regions as JSON so that
`static/console.js` can refresh them every second.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from b24sandbox.control.deps import PortalDep, get_portal
from b24sandbox.openlines import operator, views
from b24sandbox.openlines.state import OpenLines, UnknownLineError
from b24sandbox.portal import Portal
from b24sandbox.web.render import PageError, flash, page_errors, parse_id, render, render_text

router = APIRouter()

DEFAULT_OPERATOR = 2
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
REGIONS = {"lines": "console_lines.html", "chats": "console_chats.html", "messages": "console_messages.html"}


# ---- what the page shows --------------------------------------------------------------------------


def _lines(openlines: OpenLines) -> list[dict[str, Any]]:
    """Each line with its (connector, line) status rows (contract §8.14)."""
    out = []
    for line in openlines.lines.values():
        rows = [row for (_, line_id), row in sorted(openlines.statuses.items()) if line_id == line.line_id]
        connectors = [
            {"row": row, "name": c.name if (c := openlines.find_connector(row.connector_id)) else "?"}
            for row in rows
        ]
        out.append({"line": line, "connectors": connectors})
    return out


def _chats(openlines: OpenLines, selected: int | None) -> list[dict[str, Any]]:
    """Conversation summaries grouped by line."""
    summaries = views.conversation_views(openlines)
    groups = []
    for line in openlines.lines.values():
        chats = [c for c in summaries if c["line"] == line.line_id]
        groups.append({"line": line, "chats": chats})
    orphans = [c for c in summaries if c["line"] not in openlines.lines]
    if orphans:
        groups.append({"line": None, "chats": orphans})
    return [dict(g, selected=selected) for g in groups]


def _state(message: dict[str, Any]) -> str:
    """The delivery state an operator sees (CONNECTOR_MID set by send.status.delivery, contract §8.10)."""
    if message["deleted"]:
        return "deleted"
    if message["direction"] == "in":
        return "received"
    return "delivered" if message["connector_mid"] else "sent to connector"


def _conversation(portal: Portal, chat_id: int | None) -> dict[str, Any] | None:
    """The selected chat with its messages, authors and delivery states."""
    if chat_id is None:
        return None
    openlines = portal.openlines
    chat = openlines.chats.get(chat_id)
    if chat is None:
        raise PageError(404, f"no conversation {chat_id}")
    customer = next((c for c in openlines.customers.values() if c.user_id == chat.customer_user_id), None)
    view = views.conversation_view(openlines, chat, customer, with_messages=True)
    customer_name = " ".join(p for p in (view["customer"]["name"], view["customer"]["last_name"]) if p)
    for message in view["messages"]:
        author = portal.users.get(message["author_id"])
        if message["direction"] == "in":
            message["author"] = customer_name or "Customer"
        else:
            message["author"] = author.full_name if author else f"user {message['author_id']}"
        message["state"] = _state(message)
    open_session = openlines.open_session(chat)
    view["customer_name"] = customer_name or "Customer"
    view["open_session"] = open_session.session_id if open_session else None
    return view


def _context(portal: Portal, chat_id: int | None) -> dict[str, Any]:
    openlines = portal.openlines
    return {
        "lines": _lines(openlines),
        "groups": _chats(openlines, chat_id),
        "conversation": _conversation(portal, chat_id),
        "operators": list(portal.users.values()),
        "default_operator": DEFAULT_OPERATOR,
    }


def _selected(request: Request) -> int | None:
    value = request.query_params.get("chat")
    return None if value in (None, "") else parse_id(value, "conversation")


@router.get("/console")
@page_errors
async def console_page(request: Request, portal: PortalDep) -> Response:
    """The console; `?chat=<bitrix chat id>` opens a conversation."""
    return render(
        "console.html", title="Operator console", **flash(request), **_context(portal, _selected(request))
    )


@router.get("/console/live")
@page_errors
async def console_live(request: Request, portal: PortalDep) -> Response:
    """The page's live regions as HTML strings (polled by `static/console.js`)."""
    context = _context(portal, _selected(request))
    return JSONResponse({name: render_text(template, **context) for name, template in REGIONS.items()})


# ---- actions ------------------------------------------------------------------------------------


def _back(chat_id: int | None, *, notice: str | None = None, error: str | None = None) -> RedirectResponse:
    query = {k: v for k, v in (("chat", chat_id), ("notice", notice), ("error", error)) if v is not None}
    return RedirectResponse("/console" + ("?" + urlencode(query) if query else ""), status_code=303)


def _operator_id(portal: Portal, value: object) -> int:
    operator_id = parse_id(value if isinstance(value, str) else str(DEFAULT_OPERATOR), "operator")
    if operator_id not in portal.users:
        raise PageError(404, f"no operator {operator_id}")
    return operator_id


async def _uploads(items: list[UploadFile | str]) -> list[operator.UploadedFile]:
    """The attached files (an empty file input sends one nameless, empty part: skipped)."""
    out, total = [], 0
    for item in items:
        if isinstance(item, str) or not item.filename:
            continue
        content = await item.read()
        total += len(content)
        if total > MAX_UPLOAD_BYTES:
            raise PageError(400, "the attached files are larger than 50 MB")
        out.append(operator.UploadedFile(item.filename, content, item.content_type or None))
    return out


def _message_chat(openlines: OpenLines, message_id: int) -> int:
    message = openlines.messages.get(message_id)
    if message is None:
        raise PageError(404, f"no message {message_id}")
    return message.chat_id


@router.post("/console/chats/{chat_id}/messages")
@page_errors
async def reply(chat_id: str, request: Request) -> Response:
    """The operator answers with text and files (multipart): MessageAdd (contract §9.1)."""
    form = await request.form()
    portal = get_portal(request)
    openlines = portal.openlines
    chat = openlines.chats.get(parse_id(chat_id, "conversation"))
    if chat is None:
        raise PageError(404, f"no conversation {chat_id}")
    text = form.get("text")
    try:
        operator.send(
            openlines,
            chat,
            operator_id=_operator_id(portal, form.get("operator_id")),
            text=text.strip() if isinstance(text, str) else "",
            uploads=await _uploads(form.getlist("files")),
        )
    except operator.RefusedError as exc:
        return _back(chat.chat_id, error=str(exc))
    return _back(chat.chat_id, notice="Message sent")


async def _message_action(
    message_id: str, request: Request, action: Callable[[OpenLines, int, int, str], object], done: str
) -> Response:
    """Run an operator action on a message, then go back to its conversation."""
    form = await request.form()
    portal = get_portal(request)
    target = parse_id(message_id, "message")
    chat_id = _message_chat(portal.openlines, target)
    text = form.get("text")
    try:
        action(
            portal.openlines,
            target,
            _operator_id(portal, form.get("operator_id")),
            text.strip() if isinstance(text, str) else "",
        )
    except operator.NotFoundError as exc:
        raise PageError(404, str(exc)) from None
    except operator.RefusedError as exc:
        return _back(chat_id, error=str(exc))
    return _back(chat_id, notice=done)


@router.post("/console/messages/{message_id}/edit")
@page_errors
async def edit(message_id: str, request: Request) -> Response:
    """Edit an operator message: MessageUpdate once delivered (contract §9.2)."""

    def run(openlines: OpenLines, target: int, operator_id: int, text: str) -> object:
        return operator.edit(openlines, target, text=text, operator_id=operator_id)

    return await _message_action(message_id, request, run, "Message edited")


@router.post("/console/messages/{message_id}/delete")
@page_errors
async def delete(message_id: str, request: Request) -> Response:
    """Delete an operator message: MessageDelete once delivered (contract §9.3)."""

    def run(openlines: OpenLines, target: int, operator_id: int, text: str) -> object:
        return operator.delete(openlines, target, operator_id=operator_id)

    return await _message_action(message_id, request, run, "Message deleted")


@router.post("/console/sessions/{session_id}/close")
@page_errors
async def close_session(session_id: str, request: Request) -> Response:
    """Close a session: DialogFinish (contract §9.7)."""
    form = await request.form()
    portal = get_portal(request)
    session = portal.openlines.sessions.get(parse_id(session_id, "session"))
    if session is None:
        raise PageError(404, f"no session {session_id}")
    try:
        operator.close_session(
            portal.openlines, session.session_id, operator_id=_operator_id(portal, form.get("operator_id"))
        )
    except operator.RefusedError as exc:
        return _back(session.chat_id, error=str(exc))
    return _back(session.chat_id, notice=f"Session {session.session_id} closed")


@router.post("/console/lines/{line_id}/connectors/{connector_id}/disconnect")
@page_errors
async def disconnect(line_id: str, connector_id: str, portal: PortalDep) -> Response:
    """Turn a connector off on a line in the UI: StatusDelete (contract §9.5)."""
    try:
        operator.disconnect(portal.openlines, parse_id(line_id, "line"), connector_id, operator_id=1)
    except operator.NotFoundError as exc:
        raise PageError(404, str(exc)) from None
    return _back(None, notice=f"{connector_id} disconnected from line {line_id}")


@router.post("/console/lines/{line_id}/delete")
@page_errors
async def delete_line(line_id: str, portal: PortalDep) -> Response:
    """Delete a line: StatusDelete per connector, then LineDelete (contract §9.4)."""
    try:
        portal.openlines.delete_line(parse_id(line_id, "line"), user_id=1)
    except UnknownLineError:
        raise PageError(404, f"no line {line_id}") from None
    return _back(None, notice=f"Line {line_id} deleted")
