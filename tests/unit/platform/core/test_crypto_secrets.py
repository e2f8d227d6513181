"""SecretBox (AES-GCM with key ids and bound location) and secrets generated on first start."""

from __future__ import annotations

import base64
import multiprocessing
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from argosy.platform.crypto import DecryptionError, SecretBox
from argosy.platform.secrets import ensure_secret, read_secret

KEY = bytes(range(32))
NEW_KEY = bytes(range(32, 64))


def test_round_trip_and_fresh_nonce() -> None:
    box = SecretBox(KEY)
    a = box.encrypt("api-secret-ünïcode", aad="users/u1/binance")
    b = box.encrypt("api-secret-ünïcode", aad="users/u1/binance")
    assert a != b  # a new nonce each time
    assert "api-secret" not in a
    assert a.startswith(f"v1:{box.kid}:")
    assert box.decrypt(a, aad="users/u1/binance") == "api-secret-ünïcode"
    assert box.decrypt(b, aad="users/u1/binance") == "api-secret-ünïcode"


def test_key_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32-byte"):
        SecretBox(b"x" * 16)


def test_wrong_aad_fails() -> None:
    box = SecretBox(KEY)
    token = box.encrypt("s", aad="users/u1/binance")
    with pytest.raises(DecryptionError, match="authentication"):
        box.decrypt(token, aad="users/u2/binance")


def test_unknown_kid_fails() -> None:
    token = SecretBox(NEW_KEY).encrypt("s", aad="a")
    with pytest.raises(DecryptionError, match="unknown key"):
        SecretBox(KEY).decrypt(token, aad="a")
    prefix, _, blob = SecretBox(KEY).encrypt("s", aad="a").split(":")
    with pytest.raises(DecryptionError, match="unknown key"):
        SecretBox(KEY).decrypt(f"{prefix}:deadbeef:{blob}", aad="a")
    with pytest.raises(DecryptionError):
        SecretBox(KEY).decrypt(f"v0:{SecretBox(KEY).kid}:{blob}", aad="a")


def _flip(token: str, index: int) -> str:
    prefix, kid, blob = token.split(":")
    raw = bytearray(base64.urlsafe_b64decode(blob))
    raw[index] ^= 0x01
    return f"{prefix}:{kid}:{base64.urlsafe_b64encode(bytes(raw)).decode()}"


@pytest.mark.parametrize("index", [0, 11, 12, -1])
def test_tampering_fails(index: int) -> None:
    box = SecretBox(KEY)
    token = box.encrypt("order-signing-secret", aad="a")
    with pytest.raises(DecryptionError):
        box.decrypt(_flip(token, index), aad="a")


@pytest.mark.parametrize(
    "broken",
    ["", "v1", "v1:kid", "plaintext", "v1:{kid}:", "v1:{kid}:AAAA", "v1:{kid}:!!!not-base64",
     "v1:{kid}:é"],
)
def test_malformed_tokens_fail_as_decryption_errors(broken: str) -> None:
    box = SecretBox(KEY)
    with pytest.raises(DecryptionError):
        box.decrypt(broken.format(kid=box.kid), aad="a")


def test_old_keys_still_decrypt_and_new_values_use_the_new_key() -> None:
    old = SecretBox(KEY)
    stored = old.encrypt("value", aad="a")
    rotated = SecretBox(NEW_KEY, old_keys=(KEY,))
    assert rotated.decrypt(stored, aad="a") == "value"
    fresh = rotated.encrypt("value", aad="a")
    assert fresh.split(":")[1] == SecretBox.key_id(NEW_KEY) != old.kid
    with pytest.raises(DecryptionError):
        old.decrypt(fresh, aad="a")


def test_ensure_secret_creates_a_private_file_once(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "internal.key"
    first = ensure_secret(path)
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert ensure_secret(path) == first == read_secret(path)
    assert ensure_secret(path, nbytes=64) == first  # an existing secret is never replaced
    assert ensure_secret(tmp_path / "secrets" / "other.key") != first
    assert sorted(p.name for p in path.parent.iterdir()) == ["internal.key", "other.key"]


def test_ensure_secret_size(tmp_path: Path) -> None:
    assert len(ensure_secret(tmp_path / "k", nbytes=48)) == 48


def test_ensure_secret_survives_a_stale_temp_file(tmp_path: Path) -> None:
    """A crashed earlier start may leave its temp file behind (pids are reused)."""
    path = tmp_path / "internal.key"
    (tmp_path / f".internal.key.{os.getpid()}.tmp").write_text("junk")
    assert len(ensure_secret(path)) == 32


def test_read_secret_refuses_non_hex(tmp_path: Path) -> None:
    path = tmp_path / "k"
    path.write_text("not hex at all")
    with pytest.raises(ValueError, match="not hex"):
        read_secret(path)


def _race(path: str, start: Any, out: Any) -> None:
    start.wait()
    out.put(ensure_secret(Path(path)).hex())


def test_processes_racing_to_create_agree_on_one_value(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    path = tmp_path / "secrets" / "internal.key"
    start = ctx.Barrier(8)
    out: multiprocessing.Queue[str] = ctx.Queue()
    procs = [ctx.Process(target=_race, args=(str(path), start, out)) for _ in range(8)]
    for p in procs:
        p.start()
    values = [out.get(timeout=20) for _ in procs]
    for p in procs:
        p.join(10)
        assert p.exitcode == 0
    assert len(set(values)) == 1
    assert bytes.fromhex(values[0]) == read_secret(path)
    assert [p.name for p in path.parent.iterdir()] == ["internal.key"]  # no temp files left
