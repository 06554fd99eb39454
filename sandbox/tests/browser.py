"""Playwright fixtures for the browser tests: Debian's headless Chromium and a page server.

Import the fixtures into a test module (`from sandbox.tests.browser import browser_fixture,
page_fixture, page_server_fixture`); they are named `browser`, `page` and `page_server`.
Chromium runs with flags that keep it off the network (the machine has no internet: without them it
floods refused connections). `page_server` is a loopback HTTP server standing in for an app: it
records each request and answers the HTML its `render` callable makes (by default a page echoing the
posted query and form as JSON in `<pre id="posted">`).
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sandbox.tests.loopback import serving

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session", name="browser")
def browser_fixture() -> Iterator[Browser]:
    """One headless Chromium per test session (per xdist worker)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing: run scripts/bootstrap --browser")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=TIMEOUT_MS
        )
        yield chromium
        chromium.close()


@pytest.fixture(name="page")
def page_fixture(browser: Browser) -> Iterator[Page]:
    """A fresh browser context and page; every wait is bounded by `TIMEOUT_MS`."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@dataclass(frozen=True)
class Served:
    """One request the page server answered."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]


def echo_page(request: Served) -> str:
    """An HTML page showing the request's query and form as JSON."""
    posted = json.dumps({"query": request.query, "form": request.form}, sort_keys=True)
    return f'<!doctype html><title>echo</title><pre id="posted">{html.escape(posted)}</pre>'


@dataclass
class PageServer:
    """A loopback server for app pages; set `render` to choose what it answers."""

    url: str = ""
    render: Callable[[Served], str] = echo_page
    requests: list[Served] = field(default_factory=list)


def _handler(server: PageServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            parts = urlsplit(self.path)
            served = Served(
                self.command,
                parts.path,
                dict(parse_qsl(parts.query, keep_blank_values=True)),
                dict(parse_qsl(body, keep_blank_values=True)),
            )
            server.requests.append(served)
            content = server.render(served).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the default stderr access log."""

    return Handler


@pytest.fixture(name="page_server")
def page_server_fixture() -> Iterator[PageServer]:
    """A page server on an ephemeral loopback port."""
    state = PageServer()
    with serving(_handler(state)) as url:
        state.url = url
        yield state
