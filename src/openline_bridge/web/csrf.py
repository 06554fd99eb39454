"""CSRF tokens for the forms of the Bitrix24 pages.

The settings page posts back to itself (Connect, Disconnect, allowed origins). Those follow-up posts do
not carry ``APPLICATION_TOKEN`` (the page never echoes it), so the token issued here is what proves the
form came from a page the bridge rendered after verifying the portal. A token is bound to the portal
(``member_id``) and the line, expires after a short time, and is an HMAC-SHA256 under a key derived
from ``OLB_SECRET_KEY`` by HKDF with its own label, so it shares no key with
:class:`~openline_bridge.crypto.SecretBox`.

Form: ``<expires_at unix seconds>.<base64url(mac)>``.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from openline_bridge.errors import BridgeError

__all__ = ["DEFAULT_TTL_SECONDS", "CsrfFailure", "CsrfRefused", "CsrfSigner"]

DEFAULT_TTL_SECONDS = 15 * 60
_HKDF_INFO = b"openline-bridge/csrf/v1"
_MAX_TOKEN_CHARS = 128


class CsrfFailure(enum.StrEnum):
    """Why a token was refused (logged; the page shows one message for all)."""

    MISSING = "missing"
    MALFORMED = "malformed"
    MISMATCH = "mismatch"  # forged, or issued for another portal or line
    EXPIRED = "expired"


class CsrfRefused(BridgeError):
    """A form's CSRF token is missing, malformed, not ours for this portal and line, or expired."""

    def __init__(self, failure: CsrfFailure) -> None:
        self.failure = failure
        super().__init__(f"CSRF token refused: {failure.value}")


class CsrfSigner:
    """Issues and checks tokens bound to (portal, line) that expire ``ttl_seconds`` after issue."""

    def __init__(self, secret_key: str, *, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> None:
        self._key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
            secret_key.encode("utf-8")
        )
        self.ttl_seconds = ttl_seconds

    def issue(self, member_id: str, bitrix_line_id: int, now: float) -> str:
        """A token for forms about this portal's line, valid until ``now + ttl_seconds``."""
        expires_at = int(now) + self.ttl_seconds
        mac = self._mac(member_id, bitrix_line_id, expires_at)
        return f"{expires_at}.{base64.urlsafe_b64encode(mac).decode('ascii').rstrip('=')}"

    def verify(self, token: str | None, member_id: str, bitrix_line_id: int, now: float) -> None:
        """Return if ``token`` was issued by us for this portal and line and has not expired; else raise."""
        if not token:
            raise CsrfRefused(CsrfFailure.MISSING)
        expires_text, dot, mac_text = token.partition(".")
        if len(token) > _MAX_TOKEN_CHARS or not dot or not expires_text.isdigit():
            raise CsrfRefused(CsrfFailure.MALFORMED)
        try:
            padded = mac_text + "=" * (-len(mac_text) % 4)
            presented = base64.b64decode(padded, altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise CsrfRefused(CsrfFailure.MALFORMED) from None
        expires_at = int(expires_text)
        # The signature is checked before the expiry so that a forged token never reports "expired".
        if not hmac.compare_digest(presented, self._mac(member_id, bitrix_line_id, expires_at)):
            raise CsrfRefused(CsrfFailure.MISMATCH)
        if now >= expires_at:
            raise CsrfRefused(CsrfFailure.EXPIRED)

    def _mac(self, member_id: str, bitrix_line_id: int, expires_at: int) -> bytes:
        message = f"settings\n{member_id}\n{bitrix_line_id}\n{expires_at}".encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()
