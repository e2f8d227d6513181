"""Envelope encryption for secrets at rest: exchange credentials, API-key secrets, TOTP
seeds, signing keys and KYC documents.

Each record gets its own random AES-256-GCM data key; the data key is stored wrapped
(AES-256-GCM) by the master key. Both layers bind the record's purpose string
(`credential:<account id>`...) as associated data, so a ciphertext copied onto another
record fails to open. Rotating the master key re-wraps the small data keys only
(vault_rotation.py); the ciphertexts never change.

Sealed form: `env1:<master kid>:<b64 nonce+wrapped key>:<b64 nonce+ciphertext>` (the last
part is empty when the ciphertext lives elsewhere, e.g. a KYC file in the object store).

The master key comes from ARGOSY_USERS_VAULT_KEY_FILE or a file generated in the data dir.
While a rotation runs, the previous key sits beside it as `<file>.old`; the vault loads
both, and reloads when the file changes, so running instances follow a rotation.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from argosy.platform.secrets import read_secret

__all__ = ["SEALED_PREFIX", "Sealed", "Vault", "VaultError", "kek_id", "old_key_path"]

SEALED_PREFIX = "env1"
_NONCE = 12


class VaultError(Exception):
    """A sealed value is malformed, was moved to another record, or needs a lost key."""


def kek_id(key: bytes) -> str:
    return hashlib.sha256(b"argosy-vault-kek:" + key).hexdigest()[:12]


def old_key_path(path: Path) -> Path:
    return path.with_name(path.name + ".old")


@dataclass(frozen=True, slots=True)
class Sealed:
    kek: str
    wrapped: bytes  # nonce + wrapped data key
    ciphertext: bytes  # nonce + ciphertext, or b"" when stored elsewhere

    @classmethod
    def parse(cls, text: str) -> Sealed:
        try:
            prefix, kek, wrapped, ct = text.split(":")
            if prefix != SEALED_PREFIX:
                raise ValueError(prefix)
            return cls(kek, base64.urlsafe_b64decode(wrapped), base64.urlsafe_b64decode(ct))
        except ValueError:
            raise VaultError("malformed sealed value") from None

    def text(self) -> str:
        wrapped = base64.urlsafe_b64encode(self.wrapped).decode()
        ct = base64.urlsafe_b64encode(self.ciphertext).decode()
        return f"{SEALED_PREFIX}:{self.kek}:{wrapped}:{ct}"


def _encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _decrypt(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < _NONCE + 16:
        raise VaultError("ciphertext too short")
    try:
        return AESGCM(key).decrypt(blob[:_NONCE], blob[_NONCE:], aad)
    except InvalidTag:
        raise VaultError("ciphertext failed authentication") from None


class Vault:
    def __init__(self, key_file: Path, *, setting: str | None = None) -> None:
        self.key_file = key_file
        self._setting = setting
        self._stamp: tuple[int, int] | None = None
        self._keys: dict[str, bytes] = {}
        self.kek = ""
        self._load()

    # -- keys --------------------------------------------------------------------------
    def _file_stamp(self) -> tuple[int, int]:
        st = self.key_file.stat()
        return st.st_ino, st.st_mtime_ns

    def _load(self) -> None:
        key = read_secret(self.key_file, setting=self._setting, nbytes=32)
        keys = {kek_id(key): key}
        old = old_key_path(self.key_file)
        if old.exists():
            old_key = read_secret(old, nbytes=32)
            keys[kek_id(old_key)] = old_key
        self._keys, self.kek, self._stamp = keys, kek_id(key), self._file_stamp()

    def _follow(self) -> None:
        """Reload when the key file was replaced (a rotation ran in another process)."""
        try:
            if self._file_stamp() != self._stamp:
                self._load()
        except OSError:
            pass  # mid-rename: keep the keys we have

    @property
    def keks(self) -> frozenset[str]:
        return frozenset(self._keys)

    def _key(self, kek: str) -> bytes:
        if kek not in self._keys:
            self._follow()
        if kek not in self._keys:
            raise VaultError(f"master key {kek} is not available")
        return self._keys[kek]

    # -- sealing -----------------------------------------------------------------------
    def seal(self, plaintext: bytes, purpose: str) -> str:
        return self._seal(plaintext, purpose).text()

    def open(self, sealed: str, purpose: str) -> bytes:
        s = Sealed.parse(sealed)
        return _decrypt(self._data_key(s, purpose), s.ciphertext, purpose.encode())

    def seal_detached(self, plaintext: bytes, purpose: str) -> tuple[str, bytes]:
        """(sealed data key to store in the database, ciphertext to store elsewhere)."""
        s = self._seal(plaintext, purpose)
        return Sealed(s.kek, s.wrapped, b"").text(), s.ciphertext

    def open_detached(self, sealed_key: str, ciphertext: bytes, purpose: str) -> bytes:
        s = Sealed.parse(sealed_key)
        return _decrypt(self._data_key(s, purpose), ciphertext, purpose.encode())

    def rewrap(self, sealed: str, purpose: str, new_key: bytes) -> str:
        """The same ciphertext with its data key wrapped by `new_key` (rotation)."""
        s = Sealed.parse(sealed)
        dek = self._data_key(s, purpose)
        wrapped = _encrypt(new_key, dek, b"dek|" + purpose.encode())
        return Sealed(kek_id(new_key), wrapped, s.ciphertext).text()

    def _seal(self, plaintext: bytes, purpose: str) -> Sealed:
        self._follow()
        dek = os.urandom(32)
        wrapped = _encrypt(self._keys[self.kek], dek, b"dek|" + purpose.encode())
        return Sealed(self.kek, wrapped, _encrypt(dek, plaintext, purpose.encode()))

    def _data_key(self, s: Sealed, purpose: str) -> bytes:
        return _decrypt(self._key(s.kek), s.wrapped, b"dek|" + purpose.encode())
