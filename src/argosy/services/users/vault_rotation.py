"""Rotate the vault's master key: a new key, every data key re-wrapped in one transaction.

Order of operations, chosen so that a crash at any point loses nothing:
1. the new key is written to a temporary file; the current key is hard-linked to
   `<file>.old`; the new key atomically replaces `<file>` (the file always exists, and
   every instance of the service loads both `<file>` and `<file>.old`);
2. one transaction re-wraps every sealed value whose data key is not yet under the new key;
3. rows sealed by a running instance during step 2 are swept once more; only when nothing
   is left under the old key is `<file>.old` deleted.
If step 2 fails, the old key is put back and the database is unchanged. A crash between 1
and 3 leaves `<file>.old` behind; running the command again resumes with the same new key.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Column, MetaData, Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.platform.db.engine import Database
from argosy.platform.secrets import read_secret
from argosy.services.users.vault import Sealed, Vault, kek_id, old_key_path

__all__ = ["SEALED_COLUMNS", "RotationReport", "rotate_vault_key"]

#: (table, id column, sealed column, purpose prefix): every value the vault seals
SEALED_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("credentials", "account_id", "sealed", "credential"),
    ("api_keys", "id", "secret_sealed", "api_key"),
    ("users", "id", "totp_sealed", "totp"),
    ("signing_keys", "kid", "private_sealed", "signing_key"),
    ("refresh_tokens", "id", "grace_sealed", "grace"),
    ("kyc_documents", "id", "key_sealed", "kyc"),
)


@dataclass
class RotationReport:
    old_kek: str
    new_kek: str
    resumed: bool
    rewrapped: dict[str, int] = field(default_factory=dict)
    left_under_old_key: int = 0

    @property
    def total(self) -> int:
        return sum(self.rewrapped.values())


def _write_key(path: Path, key: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key.hex().encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap_in_new_key(key_file: Path) -> bool:
    """Step 1; False when a previous run already did it (resume)."""
    old = old_key_path(key_file)
    if old.exists():
        return False
    tmp = key_file.with_name(f".{key_file.name}.{secrets.token_hex(4)}.new")
    _write_key(tmp, secrets.token_bytes(32))
    os.link(key_file, old)
    os.replace(tmp, key_file)
    return True


def _restore(key_file: Path) -> None:
    os.replace(old_key_path(key_file), key_file)


def _table(name: str, id_col: str, sealed_col: str) -> Table:
    return Table(name, MetaData(), Column(id_col, primary_key=True), Column(sealed_col))


async def _rewrap_all(s: AsyncSession, vault: Vault, new_key: bytes,
                      report: RotationReport) -> None:
    new_kek = kek_id(new_key)
    for name, id_col, sealed_col, purpose in SEALED_COLUMNS:
        t = _table(name, id_col, sealed_col)
        rows = (await s.execute(select(t.c[id_col], t.c[sealed_col])
                                .where(t.c[sealed_col].is_not(None)))).all()
        for row_id, sealed in rows:
            if Sealed.parse(sealed).kek == new_kek:
                continue
            value = vault.rewrap(sealed, f"{purpose}:{row_id}", new_key)
            await s.execute(update(t).where(t.c[id_col] == row_id).values({sealed_col: value}))
            report.rewrapped[name] = report.rewrapped.get(name, 0) + 1


async def _count_old(db: Database, new_kek: str) -> int:
    left = 0
    async with db.read() as s:
        for name, id_col, sealed_col, _ in SEALED_COLUMNS:
            t = _table(name, id_col, sealed_col)
            for (sealed,) in (await s.execute(select(t.c[sealed_col])
                                              .where(t.c[sealed_col].is_not(None)))).all():
                left += Sealed.parse(sealed).kek != new_kek
    return left


async def rotate_vault_key(db: Database, key_file: Path) -> RotationReport:
    """Rotate (or finish an interrupted rotation); see the module docstring."""
    old_key = read_secret(key_file, nbytes=32)
    created = _swap_in_new_key(key_file)
    if not created:
        old_key = read_secret(old_key_path(key_file), nbytes=32)
    new_key = read_secret(key_file, nbytes=32)
    report = RotationReport(kek_id(old_key), kek_id(new_key), resumed=not created)
    vault = Vault(key_file)  # holds the new key and the old one
    try:
        async with db.transaction() as s:
            await _rewrap_all(s, vault, new_key, report)
    except BaseException:
        if created:
            _restore(key_file)
        raise
    report.left_under_old_key = await _count_old(db, report.new_kek)
    for _ in range(2):  # rows a running instance sealed with the old key meanwhile
        if report.left_under_old_key == 0:
            break
        async with db.transaction() as s:
            await _rewrap_all(s, vault, new_key, report)
        report.left_under_old_key = await _count_old(db, report.new_kek)
    if report.left_under_old_key == 0:
        old_key_path(key_file).unlink()
    return report
