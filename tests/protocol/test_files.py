"""Uploads and attachments (protocol §6.8): size limit, type from content, signed URLs."""

from __future__ import annotations

import httpx
from tests.protocol.conftest import UPLOAD_LIMIT, Bridge

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 200
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200


async def test_upload_attach_and_fetch(bridge: Bridge) -> None:
    anna = await bridge.visitor()
    uploaded = await anna.request("POST", "files", files={"file": ("invoice.pdf", PDF, "image/png")})
    assert uploaded.status_code == 201
    attachment = uploaded.json()["attachment"]
    assert (attachment["name"], attachment["mime"], attachment["size"]) == (
        "invoice.pdf",
        "application/pdf",
        len(PDF),
    )
    assert attachment["url"].startswith(f"{bridge.url}/api/v1/files/{attachment['id']}/")

    sent = await anna.send("", "c-file", attachment_ids=[attachment["id"]])
    assert sent.status_code == 201
    assert [a["id"] for a in sent.json()["message"]["attachments"]] == [attachment["id"]]
    assert sent.json()["message"]["attachments"][0]["url"]
    reused = await anna.send("again", "c-file-2", attachment_ids=[attachment["id"]])
    assert (reused.status_code, reused.json()["error"]["code"]) == (409, "attachment_in_use")

    fetched = await anna.request("GET", f"files/{attachment['id']}")
    assert fetched.status_code == 200
    async with httpx.AsyncClient() as plain:  # the signed URL needs no token
        download = await plain.get(fetched.json()["attachment"]["url"])
    assert download.status_code == 200
    assert download.content == PDF
    event_message = (await anna.events())["events"][0]["payload"]["message"]
    assert event_message["attachments"][0]["url"]  # events carry fresh URLs too


async def test_text_file_is_recognised_by_extension_and_content(bridge: Bridge) -> None:
    anna = await bridge.visitor()
    text = await anna.request("POST", "files", files={"file": ("notes.txt", b"plain words\n", "x/y")})
    assert (text.status_code, text.json()["attachment"]["mime"]) == (201, "text/plain")


async def test_refused_uploads(bridge: Bridge) -> None:
    anna = await bridge.visitor()
    cases = [
        ({"file": ("program.png", ELF, "image/png")}, 415, "file_type_not_allowed"),
        ({"file": ("big.png", PNG + b"\x00" * UPLOAD_LIMIT, "image/png")}, 413, "file_too_large"),
        ({"file": ("empty.png", b"", "image/png")}, 400, "validation_error"),
        ({"other": ("pic.png", PNG, "image/png")}, 400, "validation_error"),
    ]
    for files, status, code in cases:
        response = await anna.request("POST", "files", files=files)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), files
    declared_huge = await anna.request(
        "POST",
        "files",
        content=b"x" * (UPLOAD_LIMIT * 4),
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert (declared_huge.status_code, declared_huge.json()["error"]["code"]) == (413, "file_too_large")
    as_json = await anna.request("POST", "files", json={"file": "x"})
    assert (as_json.status_code, as_json.json()["error"]["code"]) == (415, "unsupported_media_type")
    malformed = await anna.request(
        "POST", "files", content=b"garbage", headers={"Content-Type": "multipart/form-data"}
    )
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "validation_error")
