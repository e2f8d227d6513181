"""KeyRing: rotation retires the old key before replacing it; managed rings never rotate."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from argosy.kernel.errors import ConfigurationError, Conflict
from argosy.platform.crypto import SecretBox
from argosy.services.config.keyring import KeyRing


def test_rotate_retires_the_old_key_and_old_ciphertexts_still_decrypt(tmp_path: Path) -> None:
    ring = KeyRing.in_data_dir(tmp_path)
    box = ring.box()
    token = box.encrypt("s3cret", "risk/limits#/a")
    old_kid, new_kid = ring.rotate()
    assert old_kid == box.kid != new_kid
    retired = tmp_path / "config-master.retired" / f"{old_kid}.key"
    assert stat.S_IMODE(retired.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "config-master.key").stat().st_mode) == 0o600
    after = ring.box()
    assert after.kid == new_kid
    assert after.decrypt(token, "risk/limits#/a") == "s3cret"
    assert SecretBox.kid_of(after.encrypt("x", "y")) == new_kid
    assert not list(tmp_path.glob(".*.tmp"))
    assert not list(retired.parent.glob(".*.tmp"))


def test_a_managed_ring_refuses_to_rotate_and_reads_old_key_files(tmp_path: Path) -> None:
    old, new = tmp_path / "old.key", tmp_path / "new.key"
    old.write_text("11" * 32)
    new.write_text("22" * 32)
    token = SecretBox(bytes.fromhex("11" * 32)).encrypt("v", "aad")
    ring = KeyRing(new, old_files=(old,), managed=True)
    assert ring.box().decrypt(token, "aad") == "v"
    with pytest.raises(Conflict):
        ring.rotate()
    with pytest.raises(ConfigurationError, match="ARGOSY_CONFIG_OLD_KEY_FILES"):
        KeyRing(new, old_files=(tmp_path / "missing.key",), managed=True).box()
