"""Login, logout, sessions and devices, password change and reset, rehash on login."""

from __future__ import annotations

import jwt
import pytest

from argosy.platform.settings import PlatformSettings
from tests.integration.users._harness import OffsetClock, UsersHarness
from tests.integration.users.conftest import running, users_settings

pytestmark = pytest.mark.integration

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
NEW = "an entirely new passphrase"


async def test_login_answers_oauth2_style(users: UsersHarness) -> None:
    alice = await users.register(login=False)
    r = await users.login(alice)
    body = r.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == users.settings.access_ttl_s == 600
    assert r.headers["cache-control"] == "no-store"
    assert body["refresh_token"].startswith("rt_")
    stored = await users.sql("SELECT token_hash FROM refresh_tokens")
    assert body["refresh_token"] not in str(stored)


async def test_wrong_password_and_unknown_email_look_the_same(users: UsersHarness) -> None:
    alice = await users.register(login=False)
    wrong = await users.client.post(LOGIN, json={"email": alice.email, "password": "x" * 14})
    nobody = await users.client.post(LOGIN, json={"email": "no@example.com",
                                                  "password": "x" * 14})
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.json()["error"]["message"] == nobody.json()["error"]["message"]
    assert wrong.json()["error"]["code"] == "invalid_credentials"
    rows = await users.sql("SELECT action, detail FROM audit_log WHERE action = 'login.failed'")
    assert len(rows) == 2


async def test_logout_revokes_the_family_and_tells_the_gateway(users: UsersHarness) -> None:
    alice = await users.register()
    first = alice.refresh_token
    rotated = (await users.client.post(REFRESH, json={"refresh_token": first})).json()
    sid = alice.claims["sid"]
    r = await users.client.post("/api/v1/auth/logout", json={"refresh_token": first})
    assert r.status_code == 204
    r = await users.client.post(REFRESH, json={"refresh_token": rotated["refresh_token"]})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "session_revoked"
    event = await users.event("users.session.revoked", session_id=sid)
    assert event["reason"] == "logout"
    assert event["exp"] >= event["at_ms"] // 1000 + users.settings.access_ttl_s
    assert (await users.client.post("/api/v1/auth/logout",
                                    json={"refresh_token": "rt_unknown"})).status_code == 204


async def test_password_change_needs_the_current_one_and_ends_other_sessions(
    users: UsersHarness,
) -> None:
    alice = await users.register()
    phone_refresh = alice.refresh_token
    await users.login(alice, ua="laptop")
    url = "/api/v1/auth/password/change"
    r = await users.call("POST", url, alice, json={"current_password": "wrong" * 3,
                                                   "new_password": NEW})
    assert r.status_code == 401
    assert r.json()["error"]["field"] == "current_password"
    r = await users.call("POST", url, alice, json={"current_password": alice.password,
                                                   "new_password": "short"})
    assert r.status_code == 422
    r = await users.call("POST", url, alice, json={"current_password": alice.password,
                                                   "new_password": NEW})
    assert r.status_code == 200, r.text
    fresh = r.json()["refresh_token"]
    kept = jwt.decode(r.json()["access_token"], options={"verify_signature": False})["sid"]
    assert kept == alice.claims["sid"]  # the laptop (the caller) stays logged in
    for old, code in ((phone_refresh, "session_revoked"),
                      (alice.refresh_token, "session_expired")):  # spent, not a theft
        answer = await users.client.post(REFRESH, json={"refresh_token": old})
        assert (answer.status_code, answer.json()["error"]["code"]) == (401, code)
    assert (await users.client.post(REFRESH, json={"refresh_token": fresh})).status_code == 200
    revoked = [e.json()["session_id"] for e in users.events
               if e.topic == "users.session.revoked" and e.json()["user_id"] == alice.id]
    assert kept not in revoked
    assert len(revoked) == 1
    await users.login(alice, expect=401)
    alice.password = NEW
    await users.login(alice)


async def test_password_reset_by_mailed_token(users: UsersHarness) -> None:
    alice = await users.register()
    url = "/api/v1/auth/password/reset"
    assert (await users.client.post(url, json={"email": "nobody@example.com"})).status_code == 202
    assert (await users.client.post(url, json={"email": alice.email})).status_code == 202
    event = await users.event("users.password.reset_requested", user_id=alice.id)
    assert event["purpose"] == "reset"
    assert len(users.published("users.password.reset_requested")) == 1  # none for nobody
    confirm = url + "/confirm"
    r = await users.client.post(confirm, json={"token": event["token"], "new_password": "abc"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "new_password"
    r = await users.client.post(confirm, json={"token": event["token"], "new_password": NEW})
    assert r.status_code == 204
    r = await users.client.post(confirm, json={"token": event["token"], "new_password": NEW})
    assert r.status_code == 422  # single use
    assert (await users.client.post(REFRESH, json={"refresh_token": alice.refresh_token})
            ).status_code == 401
    await users.login(alice, expect=401)
    alice.password = NEW
    await users.login(alice)


async def test_new_device_is_detected_and_sessions_can_be_listed_and_ended(
    users: UsersHarness,
) -> None:
    alice = await users.register(login=False)
    await users.login(alice, ua="Firefox/130")
    await users.login(alice, ua="Firefox/130")
    assert users.published("users.login.new_device") == []
    await users.login(alice, ua="curl/8.0")
    event = await users.event("users.login.new_device", user_id=alice.id)
    assert event["user_agent"] == "curl/8.0"
    sessions = (await users.call("GET", "/api/v1/users/me/sessions", alice)).json()["items"]
    assert len(sessions) == 3
    devices = (await users.call("GET", "/api/v1/users/me/devices", alice)).json()["items"]
    assert sorted(d["user_agent"] for d in devices) == ["Firefox/130", "curl/8.0"]
    firefox = next(d for d in devices if d["user_agent"] == "Firefox/130")
    r = await users.call("DELETE", f"/api/v1/users/me/devices/{firefox['id']}", alice)
    assert r.status_code == 204
    sessions = (await users.call("GET", "/api/v1/users/me/sessions", alice)).json()["items"]
    assert [s["device_id"] for s in sessions] == [next(
        d["id"] for d in devices if d["user_agent"] == "curl/8.0")]
    r = await users.call("DELETE", f"/api/v1/users/me/sessions/{sessions[0]['id']}", alice)
    assert r.status_code == 204
    assert (await users.call("GET", "/api/v1/users/me/sessions", alice)).json()["items"] == []
    assert (await users.client.post(REFRESH, json={"refresh_token": alice.refresh_token})
            ).status_code == 401


async def test_stronger_parameters_rehash_on_next_login(
    platform_settings: PlatformSettings,
) -> None:
    clock = OffsetClock()
    async with running(platform_settings, users_settings(), clock) as weak:
        alice = await weak.register(login=False)
        before = (await weak.sql("SELECT password_hash FROM users"))[0][0]
    assert "m=1024,t=1,p=1" in before
    stronger = users_settings(argon2_memory_kib=2048, argon2_time_cost=2)
    async with running(platform_settings, stronger, clock) as strong:
        await strong.login(alice)
        after = (await strong.sql("SELECT password_hash FROM users"))[0][0]
        detail = (await strong.sql(
            "SELECT detail FROM audit_log WHERE action = 'login.succeeded'"))[0][0]
    assert "m=2048,t=2,p=1" in after
    assert after != before
    assert '"rehashed": true' in str(detail).lower().replace("'", '"')
