"""Template rendering for the browser pages (Jinja2, autoescaped) and their error pages.

Page routes raise `PageError` for unknown ids or refused actions; `page_errors` turns it into an
HTML error page, so bad input never ends in a traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from b24sandbox.frames import FramePost

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("b24sandbox", "web/templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class PageError(Exception):
    """A page request that cannot be served (404 unknown id, 409 refused, 400 bad input)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def render_text(template: str, **context: Any) -> str:
    """A template (or a fragment of a page) rendered to text."""
    return _env.get_template(template).render(**context)


def render(template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A whole page."""
    return HTMLResponse(render_text(template, **context), status_code=status)


def flash(request: Request) -> dict[str, Any]:
    """The `notice` / `error` a redirect after an action put in the query string."""
    return {"notice": request.query_params.get("notice"), "error": request.query_params.get("error")}


def render_frame(
    frame: FramePost, *, heading: str, state: str, finish_url: str | None = None
) -> HTMLResponse:
    """A page that posts `frame` into its iframe and hosts the framed page's BX24 calls."""
    return render(
        "frame.html", title=heading, heading=heading, state=state, frame=frame, finish_url=finish_url
    )


def error_page(status: int, message: str) -> HTMLResponse:
    """The HTML page of a `PageError`."""
    title = {400: "Bad request", 404: "Not found", 409: "Not possible"}.get(status, "Error")
    return render("error.html", status=status, title=title, message=message)


PageRoute = Callable[..., Awaitable[Response]]


def page_errors(route: PageRoute) -> PageRoute:
    """Answer a `PageError` raised by the route with its HTML error page."""

    @functools.wraps(route)
    async def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return await route(*args, **kwargs)
        except PageError as exc:
            return error_page(exc.status, exc.message)

    return wrapper


def parse_id(value: str | None, what: str) -> int:
    """A numeric id from a query or path value; a 404 page for anything else."""
    if value is None or not (value.isascii() and value.isdigit()):
        raise PageError(404, f"no {what} {value!r}")
    return int(value)
