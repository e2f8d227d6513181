"""The master keys that protect secrets in config documents.

One current key encrypts; retired keys only decrypt, so a rotation never makes a stored
value unreadable, even if the process dies half-way through re-encrypting. Generated keys
live in the data dir (`secrets/config-master.key`, retired ones in
`secrets/config-master.retired/<kid>.key`). A deployment that manages keys itself sets
ARGOSY_CONFIG_MASTER_KEY_FILE (and ARGOSY_CONFIG_OLD_KEY_FILES while re-encrypting); such a
ring is rotated by deploying a new file, not by this service.
"""

from __future__ import annotations

import os
import secrets as _random
from pathlib import Path

from argosy.kernel.errors import Conflict
from argosy.platform.crypto import SecretBox
from argosy.platform.secrets import ensure_secret, read_secret

__all__ = ["KeyRing"]


class KeyRing:
    def __init__(
        self,
        current: Path,
        *,
        retired_dir: Path | None = None,
        old_files: tuple[Path, ...] = (),
        managed: bool = False,
    ) -> None:
        self._current, self._retired_dir = current, retired_dir
        self._old_files, self.managed = old_files, managed

    @classmethod
    def in_data_dir(cls, secrets_dir: Path) -> KeyRing:
        return cls(
            secrets_dir / "config-master.key",
            retired_dir=secrets_dir / "config-master.retired",
        )

    def _current_key(self) -> bytes:
        if self.managed:
            return read_secret(self._current, setting="ARGOSY_CONFIG_MASTER_KEY_FILE", nbytes=32)
        return ensure_secret(self._current)

    def _old_keys(self) -> list[bytes]:
        keys = [
            read_secret(p, setting="ARGOSY_CONFIG_OLD_KEY_FILES", nbytes=32)
            for p in self._old_files
        ]
        if self._retired_dir is not None and self._retired_dir.is_dir():
            keys += [read_secret(p, nbytes=32) for p in sorted(self._retired_dir.glob("*.key"))]
        return keys

    def box(self) -> SecretBox:
        return SecretBox(self._current_key(), old_keys=tuple(self._old_keys()))

    def rotate(self) -> tuple[str, str]:
        """Retire the current key and make a new one; returns (old kid, new kid)."""
        if self.managed or self._retired_dir is None:
            raise Conflict(
                "the master key is managed by the deployment (ARGOSY_CONFIG_MASTER_KEY_FILE): "
                "rotate by installing a new key file and listing the old one in "
                "ARGOSY_CONFIG_OLD_KEY_FILES, then re-encrypt",
                field="key",
            )
        old = self._current_key()
        old_kid = SecretBox.key_id(old)
        self._retired_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_private(self._retired_dir / f"{old_kid}.key", old)  # first: never lose it
        new = _random.token_bytes(32)
        _write_private(self._current, new)
        return old_kid, SecretBox.key_id(new)


def _write_private(path: Path, key: bytes) -> None:
    """Write atomically with mode 0600: a crash leaves the old file or the new, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{_random.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key.hex().encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
