"""Server-rendered pages shown inside Bitrix24 frames: one Jinja2 environment and the headers they need.

The pages carry no script at all (strict CSPs and Bitrix24 frames break scripts; plain forms work
everywhere). Their Content-Security-Policy allows only the one inline ``<style>`` block (by nonce),
form posts to the bridge itself, and framing by the portal's origin alone; no ``X-Frame-Options``,
whose only useful values would forbid the portal's frame too. ``Cache-Control: no-store`` because the
pages hold an ``AUTH_ID`` and per-portal data.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from openline_bridge.web.i18n import Language, translator

__all__ = ["format_time", "page_headers", "render_page"]

_ENVIRONMENT = Environment(
    loader=PackageLoader("openline_bridge.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def page_headers(frame_ancestors: Sequence[str], style_nonce: str) -> dict[str, str]:
    """The security and caching headers of a page that only ``frame_ancestors`` may frame."""
    ancestors = " ".join(frame_ancestors) if frame_ancestors else "'none'"
    policy = (
        "default-src 'none'; "
        f"style-src 'nonce-{style_nonce}'; "
        "form-action 'self'; "
        "base-uri 'none'; "
        f"frame-ancestors {ancestors}"
    )
    return {
        "Content-Security-Policy": policy,
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }


def render_page(
    template: str,
    *,
    language: Language,
    frame_ancestors: Sequence[str],
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` in ``language`` as a page that only ``frame_ancestors`` (origins) may frame."""
    nonce = secrets.token_urlsafe(16)
    html = _ENVIRONMENT.get_template(template).render(
        lang=language, t=translator(language), style_nonce=nonce, **context
    )
    return HTMLResponse(html, status_code=status_code, headers=page_headers(frame_ancestors, nonce))


def format_time(moment: datetime | None) -> str | None:
    """A UTC timestamp as the pages show it (``2026-01-31 12:00:00 UTC``)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment is not None else None
