"""Authenticated encryption of small secrets at rest (AES-256-GCM).

Each ciphertext names the key that made it (`kid`), so a key can be rotated while old
values stay readable, and is bound to where it is stored (associated data), so a value
copied to another field or document fails to decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["DecryptionError", "SecretBox"]

_PREFIX = "v1"
_NONCE = 12  # bytes of nonce before the ciphertext
_TAG = 16  # bytes of GCM tag after it


class DecryptionError(Exception):
    """The ciphertext is corrupt, was moved, or was made with an unknown key."""


class SecretBox:
    def __init__(self, key: bytes, *, old_keys: tuple[bytes, ...] = ()) -> None:
        if len(key) != 32:
            raise ValueError("SecretBox needs a 32-byte key")
        self.kid = self.key_id(key)
        self._keys = {self.kid: AESGCM(key)} | {self.key_id(k): AESGCM(k) for k in old_keys}

    @staticmethod
    def kid_of(token: str) -> str:
        """The id of the key that made `token` (so callers can find what to re-encrypt)."""
        parts = token.split(":", 2)
        if len(parts) != 3 or parts[0] != _PREFIX:
            raise DecryptionError("malformed ciphertext")
        return parts[1]

    @property
    def kids(self) -> frozenset[str]:
        return frozenset(self._keys)

    @staticmethod
    def key_id(key: bytes) -> str:
        return hashlib.sha256(b"argosy-kid:" + key).hexdigest()[:8]

    def encrypt(self, plaintext: str, aad: str) -> str:
        nonce = os.urandom(_NONCE)
        ct = self._keys[self.kid].encrypt(nonce, plaintext.encode(), aad.encode())
        return f"{_PREFIX}:{self.kid}:{base64.urlsafe_b64encode(nonce + ct).decode()}"

    def decrypt(self, token: str, aad: str) -> str:
        try:
            prefix, kid, blob = token.split(":", 2)
            raw = base64.urlsafe_b64decode(blob)
        except (ValueError, TypeError) as exc:
            raise DecryptionError("malformed ciphertext") from exc
        if prefix != _PREFIX or kid not in self._keys:
            raise DecryptionError(f"unknown key {kid!r}")
        if len(raw) < _NONCE + _TAG:
            raise DecryptionError("ciphertext too short")
        try:
            return self._keys[kid].decrypt(raw[:_NONCE], raw[_NONCE:], aad.encode()).decode()
        except InvalidTag as exc:
            raise DecryptionError("ciphertext failed authentication") from exc
