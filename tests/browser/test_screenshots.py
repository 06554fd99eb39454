"""The widget's screenshots for the docs, rendered from the real demo stack.

Always rendered into the test's temp dir (so the rendering path is tested); with
`OLB_SCREENSHOTS=docs/images` they are also written there as `widget-*.png`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.browser.harness import Stack, launcher, open_chat, png, send_text, widget

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _conversation(page: Page, stack: Stack) -> None:
    """A short, realistic exchange with an operator reply (BB-code) and an image."""
    known = stack.chat_ids()
    open_chat(page)
    question = "Hi! Is the Darjeeling First Flush still in stock?"
    send_text(page, question)
    chat_id = stack.chat_with(question, known)["external_chat_id"]
    stack.operator_says(
        chat_id,
        "Hello! Yes, [b]12 packs[/b] left of this year's harvest. Tasting notes: "
        "[url=https://example.com/darjeeling]Darjeeling First Flush[/url]",
        [("darjeeling.png", png(160, 90, (196, 160, 62)), "image/png")],
    )
    expect(widget(page, ".msg:not(.own) .files img")).to_be_visible(timeout=10_000)
    send_text(page, "Great, I will order two.")
    expect(widget(page, ".msg.own .meta").last).to_contain_text("Delivered", timeout=20_000)
    # Let images decode and the panel's entrance animation finish before the picture is taken.
    page.wait_for_timeout(400)


def _shoot(page: Page, name: str, out: Path) -> None:
    page.screenshot(path=str(out / name))


def test_widget_screenshots(browser: Browser, stack: Stack, tmp_path: Path) -> None:
    desktop = browser.new_context(viewport={"width": 1100, "height": 760}, locale="en-US")
    dark = browser.new_context(viewport={"width": 1100, "height": 760}, locale="en-US", color_scheme="dark")
    phone = browser.new_context(
        viewport={"width": 390, "height": 760},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="en-US",
    )
    try:
        page = desktop.new_page()
        page.goto(stack.site_url)
        launcher(page).wait_for()
        page.wait_for_timeout(200)
        _shoot(page, "widget-closed.png", tmp_path)
        _conversation(page, stack)
        _shoot(page, "widget-open.png", tmp_path)

        for context, name in ((dark, "widget-dark.png"), (phone, "widget-phone.png")):
            other = context.new_page()
            other.goto(stack.site_url)
            launcher(other).wait_for()
            _conversation(other, stack)
            _shoot(other, name, tmp_path)
    finally:
        for context in (desktop, dark, phone):
            context.close()

    names = ["widget-closed.png", "widget-open.png", "widget-dark.png", "widget-phone.png"]
    for name in names:
        assert (tmp_path / name).read_bytes().startswith(PNG_SIGNATURE)
    target = os.environ.get("OLB_SCREENSHOTS")
    if target:
        out = Path(target) if Path(target).is_absolute() else ROOT / target
        out.mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copyfile(tmp_path / name, out / name)
