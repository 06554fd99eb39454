"""Issue 5 acceptance: keyboard-only use, the live region, and isolation from the host page's CSS."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from tests.browser.harness import Stack, launcher, widget

pytestmark = pytest.mark.browser

# What "focus is on X" means for a widget in a shadow root: the host has focus, X inside it.
FOCUSED = """() => {
  const host = document.querySelector('[data-openline-bridge]');
  if (document.activeElement !== host) return null;
  const inner = host.shadowRoot.activeElement;
  return inner ? inner.localName + '.' + inner.className : null;
}"""

LAUNCHER_STYLE = """() => {
  const button = document.querySelector('[data-openline-bridge]').shadowRoot.querySelector('button.launcher');
  const style = getComputedStyle(button);
  const names = ['background-color', 'background-image', 'border-top-style', 'border-top-width',
    'border-top-color', 'border-radius', 'width', 'height', 'color', 'font-family', 'box-shadow',
    'padding-top', 'position', 'right', 'bottom'];
  return Object.fromEntries(names.map((name) => [name, style.getPropertyValue(name)]));
}"""


def test_keyboard_only(page: Page) -> None:
    for _ in range(10):
        if page.evaluate(FOCUSED) == "button.launcher":
            break
        page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED) == "button.launcher"

    page.keyboard.press("Enter")
    expect(widget(page, ".panel")).to_be_visible()
    expect(launcher(page)).to_have_attribute("aria-expanded", "true")
    page.wait_for_function(f"() => ({FOCUSED})() === 'textarea.'", timeout=5000)

    page.keyboard.type("Typed without a mouse")
    page.keyboard.press("Enter")
    expect(widget(page, ".msg.own .bubble")).to_have_text(["Typed without a mouse"])

    page.keyboard.press("Escape")
    expect(widget(page, ".panel")).to_be_hidden()
    expect(launcher(page)).to_have_attribute("aria-expanded", "false")
    assert page.evaluate(FOCUSED) == "button.launcher"


def test_live_region_and_host_css_isolation(page: Page, context: BrowserContext, stack: Stack) -> None:
    launcher(page).click()
    live = widget(page, '.list[role="log"]')
    expect(live).to_have_attribute("aria-live", "polite")
    launcher(page).click()
    styled = page.evaluate(LAUNCHER_STYLE)

    # The same embed on a blank page without any CSS of its own.
    bare = context.new_page()
    bare.set_content(
        f'<!doctype html><html><body><script src="{stack.bridge_url}/widget.js"'
        f' data-widget="{stack.widget_key}"></script></body></html>'
    )
    launcher(bare).wait_for()
    assert styled == bare.evaluate(LAUNCHER_STYLE)
    # The host page's rules really are aggressive: they restyle its own buttons.
    assert "Georgia" in page.evaluate("() => getComputedStyle(document.body).fontFamily")
