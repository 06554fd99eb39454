"""Files: the on-disk store, type sniffing, upload limits, and the signed URLs that serve files.

Two kinds of signed URL (the file id alone is guessable, the signature is not):
- for visitors, ``/api/v1/files/<id>/<name>?exp=<unix>&sig=<HMAC("<id>:<exp>")>`` (docs/protocol.md §6.9),
  expiring, so a leaked link stops working;
- for Bitrix24, ``/files/<id>/<HMAC("bitrix24:<id>")>/<name>``: it downloads a visitor's file when the
  message is sent (contract §8.7 ``files[].url`` must be reachable, pitfall P16), possibly much later
  after a parked line, so it does not expire.
"""

from __future__ import annotations

import base64
import codecs
import hashlib
import hmac
import mimetypes
import os
import secrets
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import puremagic

from openline_bridge.relay.errors import FileTooLarge, FileTypeNotAllowed, LinkExpired
from openline_bridge.store.types import utc_now

__all__ = [
    "DEFAULT_FILE_TYPES",
    "FilePolicy",
    "FileSigner",
    "FileStore",
    "StoredFile",
    "policy_check",
    "sniff_type",
]

# docs/protocol.md §6.1 limits.file_types (defaults)
DEFAULT_FILE_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf", "text/plain"}
)
SNIFF_BYTES = 8192
VISITOR_URL_TTL = timedelta(hours=2)  # protocol §4.3: valid at least one hour when produced


@dataclass(frozen=True)
class FilePolicy:
    """Limits on files a visitor uploads (protocol §6.1 ``limits``)."""

    max_bytes: int = 10 * 1024 * 1024
    per_message: int = 10
    types: frozenset[str] = field(default=DEFAULT_FILE_TYPES)


@dataclass(frozen=True)
class StoredFile:
    """A file written to the store: its path relative to the store root, size, digest and detected type."""

    path: str
    size: int
    sha256: str
    mime_type: str | None


def sniff_type(head: bytes, name: str) -> str | None:
    """The content type detected from the first bytes; the name decides only for text (no magic bytes)."""
    try:
        matches = puremagic.magic_string(head) if head else []
    except (puremagic.PureError, ValueError):
        matches = []
    for match in matches:
        if match.mime_type:
            return str(match.mime_type)
    guessed = mimetypes.guess_type(name)[0]
    if guessed is not None and guessed.startswith("text/") and _looks_like_text(head):
        return guessed
    return None


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # the cut may split a character
    except UnicodeDecodeError:
        return False
    return True


class FileStore:
    """Files under one directory, by random names in 256 sub-directories."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, relative: str) -> Path:
        """The absolute path of a stored file; refuses anything that would leave the root."""
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError("path outside the file store")
        return path

    async def save(
        self,
        chunks: AsyncIterable[bytes],
        *,
        max_bytes: int,
        name: str = "",
        accept_type: Callable[[str | None], None] | None = None,
    ) -> StoredFile:
        """Write a stream to a new file; stop reading past ``max_bytes`` (:class:`FileTooLarge`).

        ``accept_type`` sees the sniffed type as soon as enough bytes arrived and may raise to refuse.
        Nothing is left on disk when the stream is refused or fails.
        """
        token = secrets.token_hex(16)
        relative = f"{token[:2]}/{token}"
        final = self.root / relative
        final.parent.mkdir(parents=True, exist_ok=True)
        partial = final.with_name(f".{token}.part")
        digest = hashlib.sha256()
        size = 0
        head = b""
        sniffed: str | None = None
        decided = False
        try:
            with partial.open("wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise FileTooLarge(f"file is larger than {max_bytes} bytes")
                    if not decided:
                        head += chunk[: SNIFF_BYTES - len(head)]
                        if len(head) >= SNIFF_BYTES:
                            sniffed, decided = _decide(head, name, accept_type), True
                    digest.update(chunk)
                    out.write(chunk)
            if not decided:
                sniffed = _decide(head, name, accept_type)
            os.replace(partial, final)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return StoredFile(relative, size, digest.hexdigest(), sniffed)

    def remove(self, relative: str) -> None:
        """Delete a stored file if it is still there."""
        self.path_of(relative).unlink(missing_ok=True)


def _decide(head: bytes, name: str, accept_type: Callable[[str | None], None] | None) -> str | None:
    sniffed = sniff_type(head, name)
    if accept_type is not None:
        accept_type(sniffed)
    return sniffed


def policy_check(policy: FilePolicy) -> Callable[[str | None], None]:
    """An ``accept_type`` for :meth:`FileStore.save` enforcing the policy's allowed types."""

    def check(mime_type: str | None) -> None:
        if mime_type is None or mime_type not in policy.types:
            raise FileTypeNotAllowed(f"file type {mime_type or 'unknown'} is not allowed")

    return check


class FileSigner:
    """Signs and verifies file URLs with a key derived from the bridge's secret key."""

    def __init__(self, secret_key: str, public_url: str, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._key = hmac.new(secret_key.encode("utf-8"), b"openline-bridge/files/v1", hashlib.sha256).digest()
        self._base = public_url.rstrip("/")
        self._clock = clock

    def _sign(self, message: str) -> str:
        mac = hmac.new(self._key, message.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")

    def visitor_url(
        self, attachment_id: int, name: str, ttl: timedelta = VISITOR_URL_TTL
    ) -> tuple[str, datetime]:
        """An expiring URL for the visitor's client and when it expires (protocol §6.9)."""
        expires = int((self._clock() + ttl).timestamp())
        signature = self._sign(f"{attachment_id}:{expires}")
        url = f"{self._base}/api/v1/files/{attachment_id}/{quote(name)}?exp={expires}&sig={signature}"
        return url, datetime.fromtimestamp(expires, UTC)

    def verify_visitor(self, attachment_id: int, exp: str, sig: str) -> None:
        """Raise :class:`LinkExpired` unless ``exp``/``sig`` are a valid, unexpired signature."""
        if not exp.isdigit() or int(exp) < self._clock().timestamp():
            raise LinkExpired("the link expired")
        if not hmac.compare_digest(sig.encode("utf-8"), self._sign(f"{attachment_id}:{exp}").encode("ascii")):
            raise LinkExpired("the link signature is wrong")

    def bitrix_url(self, attachment_id: int, name: str) -> str:
        """The unguessable URL Bitrix24 downloads a visitor's file from (contract §8.7 ``files[].url``)."""
        return f"{self._base}/files/{attachment_id}/{self._sign(f'bitrix24:{attachment_id}')}/{quote(name)}"

    def verify_bitrix(self, attachment_id: int, signature: str) -> None:
        """Raise :class:`LinkExpired` unless ``signature`` is this attachment's Bitrix24 signature."""
        expected = self._sign(f"bitrix24:{attachment_id}").encode("ascii")
        if not hmac.compare_digest(signature.encode("utf-8"), expected):
            raise LinkExpired("the link signature is wrong")
