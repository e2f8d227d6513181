"""`argosy users rotate-vault-key`: a new master key, every data key re-wrapped in one
transaction, the running service following along, and nothing lost when it fails."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import pyotp
import pytest

from argosy.platform.auth.internal import Principal
from argosy.services.users.vault import Sealed, kek_id, old_key_path
from argosy.services.users.vault_rotation import SEALED_COLUMNS
from tests.integration.users._harness import User, UsersHarness
from tests.integration.users.conftest import running
from tests.integration.users.test_audit import cli

pytestmark = pytest.mark.integration

TRADING = Principal("service:trading", frozenset())
GATEWAY = Principal("service:gateway", frozenset())
PDF = b"%PDF-1.4 a document"


def key_file(h: UsersHarness) -> Path:
    return h.runtime.data_dir / "secrets" / "users-vault.key"


async def keks(h: UsersHarness) -> set[str]:
    found: set[str] = set()
    for table, _, column, _ in SEALED_COLUMNS:
        for (value,) in await h.sql(f"SELECT {column} FROM {table} "  # noqa: S608
                                    f"WHERE {column} IS NOT NULL"):
            found.add(Sealed.parse(value).kek)
    return found


async def populate(h: UsersHarness) -> tuple[User, str, str, str, str]:
    alice = await h.register()
    account = (await h.call("POST", "/api/v1/accounts", alice, json={
        "name": "ex", "kind": "exchange", "venue": "binance"})).json()["id"]
    assert (await h.call("POST", f"/api/v1/accounts/{account}/credentials", alice, json={
        "api_key": "KEY-1234567890", "api_secret": "SECRET-abcdef"})).status_code == 200
    key = (await h.call("POST", "/api/v1/api-keys", alice,
                        json={"name": "k", "scopes": ["orders:read"]})).json()
    secret = (await h.call("POST", "/api/v1/auth/2fa/enrol", alice)).json()["secret"]
    assert (await h.call("POST", "/api/v1/auth/2fa/confirm", alice, json={
        "code": pyotp.TOTP(secret).now()})).status_code == 200
    doc = (await h.call("POST", "/api/v1/kyc", alice, files={
        "file": ("a.pdf", PDF, "application/pdf")}, data={"kind": "passport"})).json()
    await h.client.post("/api/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
    return alice, account, str(key["key_id"]), secret, doc["documents"][0]["id"]


async def test_rotation_rewraps_everything_and_the_running_service_follows(
    users: UsersHarness,
) -> None:
    alice, account, key_id, secret, doc_id = await populate(users)
    before = key_file(users).read_text()
    old_kek = kek_id(bytes.fromhex(before))
    assert await keks(users) == {old_kek}
    code, out = await cli(users, "rotate-vault-key")
    assert code == 0, out
    new_kek = kek_id(bytes.fromhex(key_file(users).read_text()))
    assert new_kek != old_kek
    assert f"{old_kek} -> {new_kek}" in out
    for table in ("credentials", "api_keys", "users", "signing_keys", "kyc_documents",
                  "refresh_tokens"):
        assert f"{table}: " in out
    assert await keks(users) == {new_kek}
    assert not old_key_path(key_file(users)).exists()
    assert oct(key_file(users).stat().st_mode & 0o777) == "0o600"

    # the instance that was running all along reads and writes with the new key
    r = await users.call("GET", f"/internal/v1/credentials/{account}", TRADING)
    assert r.json()["api_secret"] == "SECRET-abcdef"
    assert (await users.call("GET", f"/internal/v1/api-keys/{key_id}", GATEWAY)
            ).status_code == 200
    assert (await users.call("GET", f"/api/v1/kyc/documents/{doc_id}", alice)).content == PDF
    await users.login(alice, totp=pyotp.TOTP(secret).at(time.time() + 30))
    other = (await users.call("POST", "/api/v1/accounts", alice, json={
        "name": "ex2", "kind": "exchange", "venue": "kraken"})).json()["id"]
    await users.call("POST", f"/api/v1/accounts/{other}/credentials", alice, json={
        "api_key": "KEY-2", "api_secret": "SECRET-2"})
    assert await keks(users) == {new_kek}
    audit = await users.sql("SELECT detail FROM audit_log WHERE action = 'vault.key_rotated'")
    assert len(audit) == 1

    # a fresh instance needs nothing but the key file
    async with running(users.runtime.platform, users.settings, users.clock) as fresh:
        r = await fresh.call("GET", f"/internal/v1/credentials/{account}", TRADING)
        assert r.json()["api_secret"] == "SECRET-abcdef"


async def test_a_failed_rotation_changes_nothing(users_sqlite: UsersHarness) -> None:
    h = users_sqlite
    _, account, *_ = await populate(h)
    before = key_file(h).read_text()
    sealed = (await h.sql("SELECT sealed FROM credentials"))[0][0]
    corrupt = Sealed.parse(sealed)
    forged = Sealed(corrupt.kek, secrets.token_bytes(len(corrupt.wrapped)), corrupt.ciphertext)
    await h.sql("INSERT INTO credentials (account_id, org_id, api_key_masked, sealed, "
                "created_ns, updated_ns) VALUES ('acc_forged', 'org_x', 'x', :s, 1, 1)",
                s=forged.text())
    snapshot = {t: await h.sql(f"SELECT {c} FROM {t} ORDER BY {i}")  # noqa: S608
                for t, i, c, _ in SEALED_COLUMNS}
    code, _ = await cli(h, "rotate-vault-key")
    assert code != 0
    assert key_file(h).read_text() == before
    assert not old_key_path(key_file(h)).exists()
    assert snapshot == {t: await h.sql(f"SELECT {c} FROM {t} ORDER BY {i}")  # noqa: S608
                        for t, i, c, _ in SEALED_COLUMNS}
    r = await h.call("GET", f"/internal/v1/credentials/{account}", TRADING)
    assert r.status_code == 200


async def test_an_interrupted_rotation_is_resumed(users_sqlite: UsersHarness) -> None:
    h = users_sqlite
    await populate(h)
    path = key_file(h)
    os.link(path, old_key_path(path))  # as if the last run died after swapping the key in
    tmp = path.with_name(".next")
    tmp.write_text(secrets.token_bytes(32).hex())
    os.replace(tmp, path)
    new_kek = kek_id(bytes.fromhex(path.read_text()))
    code, out = await cli(h, "rotate-vault-key")
    assert code == 0, out
    assert "resumed" in out
    assert await keks(h) == {new_kek}
    assert not old_key_path(path).exists()
