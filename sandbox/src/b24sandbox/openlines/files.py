"""The portal's disk for chat files: storing bytes, image sizes, downloads and operator links."""

from __future__ import annotations

import logging
import mimetypes
import secrets
import struct
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from b24sandbox.openlines.model import StoredFile

if TYPE_CHECKING:
    from b24sandbox.openlines.state import OpenLines

log = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024


def image_size(content: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF or JPEG image, else None."""
    if content[:8] == b"\x89PNG\r\n\x1a\n" and len(content) >= 24:
        width, height = struct.unpack(">II", content[16:24])
        return int(width), int(height)
    if content[:6] in (b"GIF87a", b"GIF89a") and len(content) >= 10:
        width, height = struct.unpack("<HH", content[6:10])
        return int(width), int(height)
    if content[:2] == b"\xff\xd8":
        return _jpeg_size(content)
    return None


def _jpeg_size(content: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 9 < len(content):
        if content[pos] != 0xFF:
            return None
        marker = content[pos + 1]
        (length,) = struct.unpack(">H", content[pos + 2 : pos + 4])
        # Start-of-frame markers carry the size; C4/C8/CC are tables with look-alike numbers.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", content[pos + 5 : pos + 9])
            return int(width), int(height)
        pos += 2 + length
    return None


def store(openlines: OpenLines, name: str, content: bytes, mime: str | None = None) -> StoredFile:
    """Keep a file on the portal disk and return its record."""
    guessed = mimetypes.guess_type(name)[0]
    size = image_size(content)
    stored = StoredFile(
        file_id=next(openlines.file_ids),
        name=name,
        mime=mime or guessed or "application/octet-stream",
        content=content,
        token=secrets.token_urlsafe(24),
        width=size[0] if size else None,
        height=size[1] if size else None,
    )
    openlines.files[stored.file_id] = stored
    return stored


async def download(openlines: OpenLines, items: list[Any]) -> list[int]:
    """Fetch `message.files` URLs and store them; failures are dropped silently (contract §8.7)."""
    ids: list[int] = []
    async with httpx.AsyncClient(timeout=DOWNLOAD_TIMEOUT, follow_redirects=True) as client:
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("url"), str):
                continue
            url = item["url"]
            try:
                response = await client.get(url)
            except (httpx.HTTPError, ValueError) as exc:
                log.info("file_download_failed", extra={"url": url, "error": type(exc).__name__})
                continue
            if response.status_code != 200 or len(response.content) > MAX_DOWNLOAD_BYTES:
                log.info("file_download_refused", extra={"url": url, "status": response.status_code})
                continue
            name = str(item.get("name") or url.rsplit("/", 1)[-1].split("?", 1)[0] or "file")
            mime = response.headers.get("content-type", "").split(";", 1)[0].strip() or None
            ids.append(store(openlines, name, response.content, mime).file_id)
    return ids


def link(openlines: OpenLines, stored: StoredFile) -> str:
    """The portal URL an app downloads an operator file from (contract §9.1 `files[].link`).

    contract §16 #4: by default an unguessable public link; with `file_links_need_auth` the link
    carries no secret and the download needs the app's `auth` token.
    """
    portal = openlines.portal
    base = f"{portal.protocol}://{portal.domain}/_sandbox/disk/{stored.file_id}"
    if openlines.variants.file_links_need_auth:
        return f"{base}/{quote(stored.name)}"
    return f"{base}/{quote(stored.name)}?token={stored.token}"


def event_item(openlines: OpenLines, stored: StoredFile) -> dict[str, Any]:
    """One `message.files[]` element of MessageAdd (contract §9.1)."""
    item: dict[str, Any] = {
        "name": stored.name,
        "type": "image" if stored.is_image else "file",
        "link": link(openlines, stored),
        "size": stored.size,
    }
    if stored.is_image:
        item["width"] = stored.width
        item["height"] = stored.height
    return item
