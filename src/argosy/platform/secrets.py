"""Secrets generated on first start and kept in the data dir (never in code, never logged).

Creation is atomic (O_EXCL + rename) so nine processes starting at once agree on one value.
"""

from __future__ import annotations

import os
import secrets as _random
from pathlib import Path

from argosy.kernel.errors import ConfigurationError

__all__ = ["ensure_secret", "read_secret"]


def ensure_secret(path: Path, nbytes: int = 32) -> bytes:
    """Return the secret stored at `path`, creating it (mode 0600) if it does not exist."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.exists():
        return read_secret(path)
    # unique per call: a pid alone can be reused, and a crashed start leaves its file behind
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{_random.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, _random.token_bytes(nbytes).hex().encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process won the race; theirs is kept
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return read_secret(path)


def read_secret(path: Path, *, setting: str | None = None, nbytes: int | None = None) -> bytes:
    """The hex secret in `path`. With `setting`, a missing or malformed file is reported as
    a ConfigurationError naming that setting (one line at start-up, not a traceback)."""
    try:
        text = path.read_text().strip()
    except OSError as exc:
        if setting is None:
            raise
        raise ConfigurationError(setting, f"cannot read {path}: {exc.strerror}") from None
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        problem = f"secret file {path} is not hex"
    else:
        if nbytes is None or len(secret) == nbytes:
            return secret
        problem = f"secret file {path} holds {len(secret)} bytes, not {nbytes}"
    if setting is None:
        raise ValueError(problem)
    raise ConfigurationError(setting, problem)
