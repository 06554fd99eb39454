"""Encryption at rest for tokens and secrets.

A ``SecretBox`` seals strings with AES-256-GCM under a key derived from ``OLB_SECRET_KEY`` by HKDF-SHA256,
so the configured secret is never used directly as a cipher key and other derived keys can be added later
with a different ``info`` label. Sealed form: ``v1.`` + base64url(nonce ‖ ciphertext ‖ tag), ASCII only,
safe for a TEXT column. The version prefix lets a later key rotation recognise old values.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from openline_bridge.errors import SecretBoxError

__all__ = ["SecretBox"]

_PREFIX = "v1."
_NONCE_BYTES = 12
_HKDF_INFO = b"openline-bridge/secret-box/v1"


class SecretBox:
    """Seals and opens short strings (tokens, identity secrets) with a key derived from ``secret_key``."""

    def __init__(self, secret_key: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
            secret_key.encode("utf-8")
        )
        self._aead = AESGCM(key)

    def seal(self, plaintext: str) -> str:
        """Encrypt ``plaintext``; a fresh random nonce per call, so equal inputs differ."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), None)
        return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, sealed: str) -> str:
        """Decrypt a value made by :meth:`seal`; raise ``SecretBoxError`` on a wrong key or damaged value."""
        if not sealed.startswith(_PREFIX):
            raise SecretBoxError("not a sealed value (unknown format)")
        try:
            raw = base64.urlsafe_b64decode(sealed[len(_PREFIX) :].encode("ascii"))
        except (binascii.Error, UnicodeEncodeError) as exc:
            raise SecretBoxError("sealed value is not valid base64") from exc
        if len(raw) <= _NONCE_BYTES:
            raise SecretBoxError("sealed value is truncated")
        try:
            plaintext = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None)
        except InvalidTag as exc:
            raise SecretBoxError(
                "cannot open a sealed value: OLB_SECRET_KEY differs from the key that sealed it"
            ) from exc
        return plaintext.decode("utf-8")
