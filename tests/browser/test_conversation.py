"""Issue 5 acceptance, end to end: a visitor on the demo site and an operator in the sandbox talk.

Everything goes through the real path: widget → bridge REST → outbox worker → sandbox
(`imconnector.send.messages`), and sandbox operator → `/b24/events` → relay → WebSocket → widget.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from tests.browser.harness import (
    Stack,
    attach,
    launcher,
    open_chat,
    png,
    record_statuses,
    send_text,
    statuses,
    widget,
)

pytestmark = pytest.mark.browser

# The bridge has the message (queued or further on): protocol §4.4.
STORED = re.compile("Sent|Delivered|Read")
# The first message of a fresh bridge waits for the worker to pick the new portal up (its sweep).
FIRST_DELIVERY_S = 20.0


def _start_conversation(page: Page, stack: Stack, text: str) -> str:
    """Open the chat, send `text`, return the conversation's external chat id in the sandbox."""
    known = stack.chat_ids()
    open_chat(page)
    send_text(page, text)
    chat_id: str = stack.chat_with(text, known, timeout=FIRST_DELIVERY_S)["external_chat_id"]
    return chat_id


def test_text_and_image_go_sent_then_delivered(page: Page, stack: Stack) -> None:
    open_chat(page)
    record_statuses(page)
    known = stack.chat_ids()
    send_text(page, "Do you ship to Lisbon?")
    attach(page, "teapot.png", png(), "image/png")
    send_text(page, "This one, please")

    own = widget(page, ".msg.own")
    expect(own).to_have_count(2)
    expect(own.nth(1).locator(".files img")).to_have_attribute("alt", "teapot.png")
    for index in range(2):
        expect(own.nth(index).locator(".meta")).to_contain_text("Delivered", timeout=FIRST_DELIVERY_S * 1000)
    # protocol §4.4: queued/sent read "Sent", and a status only moves forward.
    for seen in statuses(page):
        assert seen[-1] == "Delivered"
        assert "Sent" in seen and seen.index("Sent") < seen.index("Delivered"), seen

    chat = stack.chat_with("Do you ship to Lisbon?", known, timeout=1)
    texts = [message["text"] for message in chat["messages"]]
    assert "Do you ship to Lisbon?" in texts
    files = [file for message in chat["messages"] for file in message["files"]]
    assert [file["name"] for file in files] == ["teapot.png"]


def test_operator_bbcode_and_file_render_safely_within_a_second(page: Page, stack: Stack) -> None:
    chat_id = _start_conversation(page, stack, "Is the Gyokuro in stock?")
    started = time.monotonic()
    stack.operator_says(
        chat_id,
        "[b]bold[/b] [url=https://example.com]link[/url]",
        [("price-list.txt", b"Gyokuro Asahi 50 g: 22 EUR\n", "text/plain")],
    )
    reply = widget(page, ".msg:not(.own)")
    expect(reply.locator(".bubble b")).to_have_text("bold", timeout=1000)
    assert time.monotonic() - started < 1.0
    link = reply.locator('.bubble a[href^="https://example.com"]')
    expect(link).to_have_text("link")
    assert "noopener" in (link.get_attribute("rel") or "").split()
    expect(reply.locator("a.file")).to_contain_text("price-list.txt", timeout=5000)


def test_message_sent_while_offline_appears_without_reload(
    page: Page, context: BrowserContext, stack: Stack
) -> None:
    chat_id = _start_conversation(page, stack, "I may lose signal on the train")
    page.evaluate("() => { window.__olbSameDocument = true; }")
    context.set_offline(True)
    page.wait_for_timeout(500)
    stack.operator_says(chat_id, "We will be here when you are back")
    page.wait_for_timeout(1000)
    # The browser really is cut off: the reply waits on the bridge, not in the page.
    expect(widget(page, ".msg:not(.own)")).to_have_count(0)
    context.set_offline(False)
    expect(widget(page, ".msg:not(.own) .bubble")).to_have_text(
        "We will be here when you are back", timeout=15_000
    )
    assert page.evaluate("() => window.__olbSameDocument") is True


def test_reload_keeps_history(page: Page, stack: Stack) -> None:
    open_chat(page)
    send_text(page, "Remember me after a reload")
    expect(widget(page, ".msg.own .meta")).to_contain_text(STORED)
    page.reload()
    launcher(page).click()
    expect(widget(page, ".msg.own .bubble")).to_have_text(["Remember me after a reload"])


def test_signed_identity_sees_the_same_conversation_on_a_second_device(
    browser: Browser, page: Page, stack: Stack
) -> None:
    user_id = f"customer-{time.time_ns()}"
    identity = {"user_id": user_id, "hash": stack.sign(user_id), "name": "Anna"}
    page.evaluate("(user) => OpenlineBridge.setUser(user)", identity)
    open_chat(page)
    send_text(page, "Written on my laptop")
    expect(widget(page, ".msg.own .meta")).to_contain_text(STORED)

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        other = phone.new_page()
        other.goto(stack.site_url)
        launcher(other).wait_for()
        other.evaluate("(user) => OpenlineBridge.setUser(user)", identity)
        launcher(other).click()
        expect(widget(other, ".msg.own .bubble")).to_have_text(["Written on my laptop"], timeout=10_000)
    finally:
        phone.close()
