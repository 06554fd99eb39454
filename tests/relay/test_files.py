"""Visitor files: limits on size and sniffed type, storage on disk, signed URLs (expiry, tampering) and the
file routes served over real HTTP."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from tests.relay.conftest import PUBLIC_URL, TEST_SECRET, Chat, serve

from openline_bridge.channels import files_route
from openline_bridge.relay import visitor_inbound
from openline_bridge.relay.context import Relay
from openline_bridge.relay.errors import FileTooLarge, FileTypeNotAllowed, InvalidFile, LinkExpired, NotFound
from openline_bridge.relay.files import FileSigner, sniff_type
from openline_bridge.relay.uploads import accept_upload, attachment_for_visitor, purge_unbound_uploads
from openline_bridge.store.types import utc_now

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


async def chunks(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def stored_files(relay: Relay) -> list[Path]:
    return [p for p in relay.files.root.rglob("*") if p.is_file()] if relay.files.root.exists() else []


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (PNG, "holiday.txt", "image/png"),  # content wins over the name
        (PDF, "invoice", "application/pdf"),
        (b"plain words\nsecond line\n", "notes.txt", "text/plain"),
        (b"plain words", "notes.exe", None),  # no magic and not a text name
        (b"\x00\x01\x02binary", "notes.txt", None),  # a text name on binary content
    ],
)
def test_sniff_type(content: bytes, name: str, expected: str | None) -> None:
    assert sniff_type(content, name) == expected


async def test_upload_is_stored_with_a_signed_url(relay: Relay, chat: Chat) -> None:
    long_name = "a" * 80 + ".png"
    attachment = await accept_upload(relay, chat.conversation_id, long_name, chunks(PNG))
    assert attachment["mime"] == "image/png" and attachment["size"] == len(PNG)
    assert len(attachment["name"]) == 50 and attachment["name"].endswith(".png")  # pitfall P16
    assert attachment["url"].startswith(f"{PUBLIC_URL}/api/v1/files/{attachment['id']}/")
    (path,) = stored_files(relay)
    assert path.read_bytes() == PNG
    fresh = await attachment_for_visitor(relay, chat.conversation_id, attachment["id"])
    assert fresh["id"] == attachment["id"] and fresh["url"]


async def test_too_large_upload_is_refused_and_leaves_nothing(relay: Relay, chat: Chat) -> None:
    big = PNG + b"\x00" * relay.file_policy.max_bytes
    with pytest.raises(FileTooLarge):
        await accept_upload(relay, chat.conversation_id, "big.png", chunks(big, 4096))
    assert stored_files(relay) == []


async def test_disallowed_type_is_refused_whatever_the_name(relay: Relay, chat: Chat) -> None:
    with pytest.raises(FileTypeNotAllowed):
        await accept_upload(relay, chat.conversation_id, "photo.png", chunks(b"MZ\x90\x00" + b"\x00" * 100))
    with pytest.raises(FileTypeNotAllowed):
        await accept_upload(
            relay, chat.conversation_id, "page.txt", chunks(b"<html><script>x</script></html>")
        )
    assert stored_files(relay) == []


async def test_empty_upload_is_invalid(relay: Relay, chat: Chat) -> None:
    with pytest.raises(InvalidFile):
        await accept_upload(relay, chat.conversation_id, "empty.txt", chunks(b""))
    assert stored_files(relay) == []


async def test_attachment_of_another_conversation_is_not_found(relay: Relay, chat: Chat) -> None:
    attachment = await accept_upload(relay, chat.conversation_id, "a.png", chunks(PNG))
    with pytest.raises(NotFound):
        await attachment_for_visitor(relay, chat.conversation_id + 1, attachment["id"])


def test_signed_urls_expire_and_resist_tampering() -> None:
    now = utc_now()
    signer = FileSigner(TEST_SECRET, PUBLIC_URL, clock=lambda: now)
    url, expires_at = signer.visitor_url(42, "a b.png", ttl=timedelta(hours=1))
    assert expires_at > now + timedelta(minutes=59)
    query = parse_qs(urlsplit(url).query)
    exp, sig = query["exp"][0], query["sig"][0]
    signer.verify_visitor(42, exp, sig)
    with pytest.raises(LinkExpired):
        signer.verify_visitor(43, exp, sig)  # another file
    with pytest.raises(LinkExpired):
        signer.verify_visitor(42, str(int(exp) + 3600), sig)  # extended expiry
    with pytest.raises(LinkExpired):
        signer.verify_visitor(42, exp, sig[:-2] + "AA")
    later = FileSigner(TEST_SECRET, PUBLIC_URL, clock=lambda: now + timedelta(hours=2))
    with pytest.raises(LinkExpired):
        later.verify_visitor(42, exp, sig)
    other_key = FileSigner(TEST_SECRET + "x", PUBLIC_URL, clock=lambda: now)
    with pytest.raises(LinkExpired):
        other_key.verify_visitor(42, exp, sig)
    bitrix = signer.bitrix_url(42, "a.png")
    signature = bitrix.split("/")[-2]
    signer.verify_bitrix(42, signature)
    with pytest.raises(LinkExpired):
        signer.verify_bitrix(41, signature)


async def test_file_routes_over_http(relay: Relay, chat: Chat) -> None:
    app = FastAPI()
    app.state.relay = relay
    app.include_router(files_route.router)
    image = await accept_upload(relay, chat.conversation_id, "pic.png", chunks(PNG))
    document = await accept_upload(relay, chat.conversation_id, "doc.pdf", chunks(PDF))
    async with serve(app) as base, httpx.AsyncClient(timeout=10) as http:

        def local(url: str) -> str:
            return url.replace(PUBLIC_URL, base)

        shown = await http.get(local(image["url"]))
        assert shown.status_code == 200 and shown.content == PNG
        assert shown.headers["content-type"] == "image/png"
        assert shown.headers["x-content-type-options"] == "nosniff"
        assert shown.headers["content-security-policy"] == "sandbox"
        assert shown.headers["content-disposition"].startswith("inline")
        saved = await http.get(local(document["url"]))
        assert saved.status_code == 200 and saved.headers["content-disposition"].startswith("attachment")

        tampered = await http.get(local(image["url"]).replace("sig=", "sig=x"))
        assert tampered.status_code == 403 and tampered.json()["error"]["code"] == "link_expired"
        expired_signer = FileSigner(TEST_SECRET, PUBLIC_URL, clock=lambda: utc_now() - timedelta(days=1))
        old_url, _ = expired_signer.visitor_url(int(image["id"]), "pic.png")
        expired = await http.get(local(old_url))
        assert expired.status_code == 403 and expired.json()["error"]["code"] == "link_expired"

        for_bitrix = await http.get(local(relay.signer.bitrix_url(int(document["id"]), "doc.pdf")))
        assert for_bitrix.status_code == 200 and for_bitrix.content == PDF
        forged = await http.get(f"{base}/files/{document['id']}/not-the-signature/doc.pdf")
        assert forged.status_code == 403
        missing = await http.get(local(relay.signer.bitrix_url(999999, "x.pdf")))
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_unbound_uploads_are_purged_after_a_day(relay: Relay, chat: Chat) -> None:
    kept = await accept_upload(relay, chat.conversation_id, "kept.png", chunks(PNG))
    await accept_upload(relay, chat.conversation_id, "stale.png", chunks(PNG))
    await visitor_inbound.accept_message(relay, chat.conversation_id, "c-1", "", [kept["id"]])
    assert await purge_unbound_uploads(relay) == 0  # too young
    assert await purge_unbound_uploads(relay, older_than=timedelta(0)) == 1
    assert len(stored_files(relay)) == 1
    assert (await attachment_for_visitor(relay, chat.conversation_id, kept["id"]))["id"] == kept["id"]
