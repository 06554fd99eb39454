"""What the browser tests share: the running stack's handles and the widget's locators."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from playwright.sync_api import FilePayload, Locator, Page

CONNECTOR_ID = "openline_bridge"
WIDGET_HOST = "[data-openline-bridge]"


@dataclass
class Stack:
    """The running demo stack plus the operator's side of it (the sandbox control API)."""

    sandbox: httpx.Client
    bridge_url: str
    site_url: str
    widget_key: str
    line_id: str
    identity_secret: str

    def sign(self, user_id: str) -> str:
        """The `hash` of a signed identity (protocol §2.2)."""
        key = self.identity_secret.encode()
        return hmac.new(key, user_id.encode(), hashlib.sha256).hexdigest()

    def chat_ids(self) -> set[str]:
        """External chat ids of every conversation the sandbox holds."""
        return {chat["external_chat_id"] for chat in self.sandbox.get("/_sandbox/conversations").json()}

    def chat_with(self, text: str, known: set[str], timeout: float = 20.0) -> dict[str, Any]:
        """The sandbox conversation (with messages) not in `known` where the visitor wrote `text`.

        Other tests' visitors may reach the sandbox at the same moment, so a chat is told by content.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for chat in self.sandbox.get("/_sandbox/conversations").json():
                if chat["external_chat_id"] in known:
                    continue
                full: dict[str, Any] = self.sandbox.get(
                    f"/_sandbox/conversations/{chat['bitrix_chat_id']}"
                ).json()
                if any(message["text"] == text for message in full["messages"]):
                    return full
            time.sleep(0.2)
        raise AssertionError(f"no conversation with {text!r} reached the sandbox")

    def operator_says(
        self, chat_id: str, text: str = "", files: Sequence[tuple[str, bytes, str]] = ()
    ) -> None:
        """The operator writes into the conversation through the sandbox control API."""
        body: dict[str, Any] = {
            "line": self.line_id,
            "connector": CONNECTOR_ID,
            "chat_id": chat_id,
            "text": text,
            "files": [
                {"name": name, "content_base64": base64.b64encode(content).decode(), "mime": mime}
                for name, content, mime in files
            ],
        }
        response = self.sandbox.post("/_sandbox/operator/messages", json=body)
        assert response.status_code == 201, response.text


def launcher(page: Page) -> Locator:
    """The launcher button inside the widget's shadow root (Playwright CSS pierces open shadow roots)."""
    return page.locator(f"{WIDGET_HOST} button.launcher")


def widget(page: Page, selector: str) -> Locator:
    """Something inside the widget's shadow root."""
    return page.locator(f"{WIDGET_HOST} {selector}")


def open_chat(page: Page) -> Locator:
    """Open the chat panel; return the composer's textarea."""
    launcher(page).click()
    textarea = widget(page, "form.composer textarea")
    textarea.wait_for()
    return textarea


def send_text(page: Page, text: str) -> None:
    """Type a message into the open composer and press Enter."""
    textarea = widget(page, "form.composer textarea")
    textarea.fill(text)
    textarea.press("Enter")


def attach(page: Page, name: str, content: bytes, mime: str) -> None:
    """Pick a file through the composer's paperclip (a real file chooser) and wait for its upload."""
    with page.expect_file_chooser() as chooser:
        widget(page, 'form.composer button[aria-label="Attach files"]').click()
    chooser.value.set_files(files=[FilePayload(name=name, mimeType=mime, buffer=content)])
    widget(page, f'.tray .chip:has-text("{name}")').wait_for()
    widget(page, ".tray .chip progress").wait_for(state="detached")


def png(width: int = 24, height: int = 16, rgb: tuple[int, int, int] = (47, 79, 70)) -> bytes:
    """A small solid-colour PNG (a real image, so the bridge's type sniffing accepts it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


# Records, per own message, every status text its meta line showed (the meta is re-rendered on change).
STATUS_RECORDER = """() => {
  const root = document.querySelector('[data-openline-bridge]').shadowRoot;
  window.__olbStatuses = [];
  const look = () => {
    root.querySelectorAll('.msg.own').forEach((message, index) => {
      const seen = window.__olbStatuses[index] || (window.__olbStatuses[index] = []);
      const status = message.querySelector('.meta span');
      const text = status ? status.textContent : null;
      if (text && seen[seen.length - 1] !== text) seen.push(text);
    });
  };
  new MutationObserver(look).observe(root, {subtree: true, childList: true, characterData: true});
  look();
}"""


def record_statuses(page: Page) -> None:
    """Start recording the status texts of the visitor's messages (read with :func:`statuses`)."""
    page.evaluate(STATUS_RECORDER)


def statuses(page: Page) -> list[list[str]]:
    """Status texts each own message went through, in order."""
    seen: list[list[str]] = page.evaluate("() => window.__olbStatuses")
    return seen
