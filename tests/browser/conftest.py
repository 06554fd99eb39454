"""The whole demo stack (sandbox, bridge on SQLite, demo site) on free ports, and a headless Chromium.

The stack is started once per session through `demo/run.py`'s own `demo_stack`, so the browser tests
exercise exactly what `python demo/run.py` gives a user. Each test gets a fresh browser context (its
own localStorage), hence its own visitor and conversation.
"""

from __future__ import annotations

import html
import importlib.util
import re
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from tests.browser.harness import Stack, launcher

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
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


def _load_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("olb_demo_run", ROOT / "demo" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses resolve their annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _identity_secret(demo: ModuleType, sandbox: httpx.Client, line_id: str) -> str:
    """The widget's identity secret, read from the bridge's settings page as an admin would."""
    body, _ = demo.open_settings(sandbox, line_id)
    match = re.search(r'<input type="text" readonly value="([^"]+)"', body)
    assert match, "the settings page shows no identity secret"
    return html.unescape(match.group(1))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The demo stack on free loopback ports with its data in a temp dir."""
    demo = _load_demo()
    data_dir = tmp_path_factory.mktemp("demo")
    with (
        demo.demo_stack(_free_port(), _free_port(), _free_port(), data_dir) as running,
        httpx.Client(base_url=running.sandbox_url, timeout=30) as sandbox,
    ):
        line_id = str(sandbox.get("/_sandbox/lines").json()[0]["id"])
        yield Stack(
            sandbox=sandbox,
            bridge_url=running.bridge_url,
            site_url=running.site_url,
            widget_key=running.widget_key,
            line_id=line_id,
            identity_secret=_identity_secret(demo, sandbox, line_id),
        )


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium driven by Playwright."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (own localStorage, so a new visitor)."""
    made = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    made.set_default_timeout(10_000)
    yield made
    made.close()


@pytest.fixture
def page(context: BrowserContext, stack: Stack) -> Page:
    """The demo site with the widget's launcher on screen."""
    opened = context.new_page()
    opened.goto(stack.site_url)
    launcher(opened).wait_for()
    return opened
