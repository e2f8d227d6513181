"""The vault's envelope encryption: per-record data keys, purpose binding, re-wrapping."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from argosy.services.users.vault import Sealed, Vault, VaultError, kek_id, old_key_path


def key_file(tmp_path: Path, name: str = "vault.key") -> Path:
    path = tmp_path / name
    path.write_text(secrets.token_bytes(32).hex())
    return path


def test_seal_open_and_purpose_binding(tmp_path: Path) -> None:
    vault = Vault(key_file(tmp_path))
    sealed = vault.seal(b"api secret", "credential:acc_1")
    assert vault.open(sealed, "credential:acc_1") == b"api secret"
    assert b"api secret" not in sealed.encode()
    assert vault.seal(b"api secret", "credential:acc_1") != sealed  # fresh data key + nonce
    with pytest.raises(VaultError):
        vault.open(sealed, "credential:acc_2")  # moved to another record
    s = Sealed.parse(sealed)
    with pytest.raises(VaultError):
        vault.open(Sealed(s.kek, s.wrapped, s.ciphertext[:-1] + b"x").text(), "credential:acc_1")
    with pytest.raises(VaultError):
        vault.open("env1:nope", "credential:acc_1")


def test_detached_ciphertext_for_files(tmp_path: Path) -> None:
    vault = Vault(key_file(tmp_path))
    key, blob = vault.seal_detached(b"%PDF-1.4 scan", "kyc:doc_1")
    assert Sealed.parse(key).ciphertext == b""
    assert vault.open_detached(key, blob, "kyc:doc_1") == b"%PDF-1.4 scan"
    with pytest.raises(VaultError):
        vault.open_detached(key, blob, "kyc:doc_2")


def test_rewrap_keeps_the_ciphertext_and_needs_the_new_key(tmp_path: Path) -> None:
    path = key_file(tmp_path)
    vault = Vault(path)
    sealed = vault.seal(b"totp seed", "totp:usr_1")
    new_key = secrets.token_bytes(32)
    rewrapped = vault.rewrap(sealed, "totp:usr_1", new_key)
    assert Sealed.parse(rewrapped).ciphertext == Sealed.parse(sealed).ciphertext
    assert Sealed.parse(rewrapped).kek == kek_id(new_key)
    with pytest.raises(VaultError, match="not available"):
        vault.open(rewrapped, "totp:usr_1")
    other = tmp_path / "other.key"
    other.write_text(new_key.hex())
    assert Vault(other).open(rewrapped, "totp:usr_1") == b"totp seed"


def test_a_running_vault_follows_a_rotated_key_file(tmp_path: Path) -> None:
    path = key_file(tmp_path)
    running = Vault(path)
    old_sealed = running.seal(b"one", "p:1")
    os.link(path, old_key_path(path))
    new_key = secrets.token_bytes(32)
    tmp = tmp_path / "next"
    tmp.write_text(new_key.hex())
    os.replace(tmp, path)
    rotated = Vault(path)  # what a rotation sees: both keys
    assert rotated.keks == {kek_id(new_key), running.kek}
    new_sealed = rotated.rewrap(old_sealed, "p:1", new_key)
    assert running.open(new_sealed, "p:1") == b"one"  # reloads on the unknown key id
    assert Sealed.parse(running.seal(b"two", "p:2")).kek == kek_id(new_key)
