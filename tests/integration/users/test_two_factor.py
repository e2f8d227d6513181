"""TOTP two-factor with single-use recovery codes."""

from __future__ import annotations

import time

import pyotp
import pytest

from tests.integration.users._harness import User, UsersHarness

pytestmark = pytest.mark.integration

BASE = "/api/v1/auth/2fa"


def code(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


async def enable(h: UsersHarness, user: User) -> tuple[str, list[str]]:
    r = await h.call("POST", f"{BASE}/enrol", user)
    assert r.status_code == 200, r.text
    secret, uri = r.json()["secret"], r.json()["otpauth_uri"]
    assert uri.startswith("otpauth://totp/Argosy:")
    assert secret in uri
    r = await h.call("POST", f"{BASE}/confirm", user, json={"code": code(secret)})
    assert r.status_code == 200, r.text
    return secret, r.json()["recovery_codes"]


async def test_enrol_confirm_login_with_totp_and_recovery_codes(users: UsersHarness) -> None:
    alice = await users.register()
    assert (await users.call("POST", f"{BASE}/confirm", alice,
                             json={"code": "123456"})).status_code == 409  # not enrolled
    secret, recovery = await enable(users, alice)
    assert len(recovery) == len(set(recovery)) == 10
    stored = await users.sql("SELECT totp_sealed FROM users")
    assert secret not in stored[0][0]
    hashes = [r[0] for r in await users.sql("SELECT code_hash FROM recovery_codes")]
    assert len(hashes) == 10
    assert not set(recovery) & set(hashes)

    needed = await users.login(alice, expect=401)
    assert needed.json()["error"]["code"] == "totp_required"
    wrong = await users.login(alice, totp="000000", expect=401)
    assert wrong.json()["error"]["code"] == "invalid_totp"
    nxt = code(secret, 1)  # the confirm code's step is spent; the next step is accepted
    await users.login(alice, totp=nxt)
    replay = await users.login(alice, totp=nxt, expect=401)  # a code works once
    assert replay.json()["error"]["code"] == "invalid_totp"
    await users.login(alice, totp=recovery[0])
    await users.login(alice, totp=recovery[0], expect=401)
    await users.login(alice, totp=recovery[1].upper())
    me = (await users.call("GET", "/api/v1/users/me", alice)).json()
    assert me["two_factor_enabled"] is True


async def test_disable_needs_password_and_code(users: UsersHarness) -> None:
    alice = await users.register()
    _, recovery = await enable(users, alice)
    url = f"{BASE}/disable"
    r = await users.call("POST", url, alice, json={"password": "wrong" * 4, "code": recovery[0]})
    assert r.status_code == 401
    r = await users.call("POST", url, alice, json={"password": alice.password, "code": "999999"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "code"
    r = await users.call("POST", url, alice, json={"password": alice.password,
                                                   "code": recovery[2]})
    assert r.status_code == 204
    await users.login(alice)  # no code needed any more
    assert (await users.sql("SELECT COUNT(*) FROM recovery_codes"))[0][0] == 0
    actions = [r[0] for r in await users.sql("SELECT action FROM audit_log ORDER BY seq")]
    steps = [a for a in actions if a.startswith("2fa.")]
    assert steps == ["2fa.enrol_started", "2fa.enabled", "2fa.disabled"]


async def test_enrol_twice_is_a_conflict(users_sqlite: UsersHarness) -> None:
    alice = await users_sqlite.register()
    await enable(users_sqlite, alice)
    assert (await users_sqlite.call("POST", f"{BASE}/enrol", alice)).status_code == 409
