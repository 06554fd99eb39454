"""Issue 5 acceptance: hostile text from the visitor and from the operator never runs in the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Dialog, Page, expect
from tests.browser.harness import Stack, open_chat, send_text, widget

pytestmark = pytest.mark.browser

# Each payload would run `alert` (or add an element/attribute) if any layer turned text into markup.
CORPUS = [
    "<img src=x onerror=alert(1)>",
    '"><script>alert(2)</script>',
    "<svg onload=alert(3)><circle r=1></svg>",
    "[url=javascript:alert(4)]click me[/url]",
    "[url]javascript:alert(5)[/url]",
    '[url=https://example.com/" onmouseover="alert(6)]hover me[/url]',
    "[url=https://example.com/[b]x[/b]]nested[/url]",
    "[b onclick=alert(7)]bold attr[/b]",
    "[img]javascript:alert(8)[/img]",
    "[url=data:text/html;base64,PHNjcmlwdD5hbGVydCg5KTwvc2NyaXB0Pg==]data link[/url]",
    '<a href="javascript:alert(10)">plain link</a>',
    "<iframe src=javascript:alert(11)></iframe>",
]

# Everything the widget's shadow root may legitimately hold that can carry a URL, and from where.
FINDINGS = """() => {
  const root = document.querySelector('[data-openline-bridge]').shadowRoot;
  const found = [];
  for (const element of root.querySelectorAll('*')) {
    const tag = element.localName;
    const active = ['script', 'iframe', 'object', 'embed', 'foreignobject', 'style', 'link', 'base', 'form'];
    if (active.includes(tag) && !(tag === 'form' && /^(composer|prechat)$/.test(element.className))) {
      found.push('element ' + tag);
    }
    if (tag === 'svg' && !element.closest('button')) found.push('svg outside a widget button');
    for (const attribute of element.attributes) {
      if (attribute.name.startsWith('on')) found.push(tag + ' ' + attribute.name);
      if (['href', 'src', 'action', 'formaction', 'xlink:href'].includes(attribute.name)
          && !/^(https?:|mailto:|blob:)/i.test(attribute.value)) {
        found.push(tag + ' ' + attribute.name + '=' + attribute.value);
      }
    }
  }
  return found;
}"""


def test_hostile_text_from_both_sides_never_executes(page: Page, stack: Stack) -> None:
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    known = stack.chat_ids()
    open_chat(page)
    for payload in CORPUS:
        send_text(page, payload)
    chat_id = stack.chat_with(CORPUS[-1], known)["external_chat_id"]
    for payload in CORPUS:
        stack.operator_says(chat_id, payload)

    expect(widget(page, ".msg.own")).to_have_count(len(CORPUS))
    expect(widget(page, ".msg:not(.own)")).to_have_count(len(CORPUS), timeout=10_000)
    # Visitor text is shown exactly as typed (plain text, protocol §4.1).
    expect(widget(page, ".msg.own .bubble")).to_have_text(CORPUS)
    # The operator's markup-looking text arrives as text too (protocol §4.2: unknown tags stay literal).
    # Events of quick successive operator messages may arrive out of order, so compare as a set.
    shown = set(widget(page, ".msg:not(.own) .bubble").all_inner_texts())
    assert {CORPUS[0], CORPUS[1], CORPUS[2]} <= shown, shown
    # Hover every link the operator side produced: none may run anything.
    links = widget(page, ".msg:not(.own) .bubble a")
    for index in range(links.count()):
        links.nth(index).hover()
    page.wait_for_timeout(300)

    assert dialogs == []
    assert page.evaluate(FINDINGS) == []
    assert page.evaluate("() => document.querySelectorAll('body > :is(img, svg, iframe)').length") == 0
    hrefs = [links.nth(index).get_attribute("href") or "" for index in range(links.count())]
    assert all(href.startswith(("https:", "http:", "mailto:")) for href in hrefs), hrefs
