"""Registration, email verification, profile, and what a bad request leaves behind."""

from __future__ import annotations

import json

import pytest

from tests.integration.users._harness import PASSWORD, UsersHarness

pytestmark = pytest.mark.integration

REGISTER = "/api/v1/auth/register"


async def test_registration_creates_a_tenant_an_admin_and_a_paper_account(
    users: UsersHarness,
) -> None:
    alice = await users.register(name="Alice", timezone="Europe/Paris", locale="fr-FR")
    me = (await users.call("GET", "/api/v1/users/me", alice)).json()
    assert me["org"] == alice.org
    assert me["roles"] == ["admin"]
    assert me["email_verified"] is False
    assert (me["timezone"], me["locale"], me["name"]) == ("Europe/Paris", "fr-FR", "Alice")
    assert me["notification_preferences_url"] == "/api/v1/notifications/preferences"
    assert me["kyc_state"] == "none"
    accounts = (await users.call("GET", "/api/v1/accounts", alice)).json()["items"]
    assert [(a["id"], a["kind"], a["starting_balance"], a["currency"]) for a in accounts] == [
        (alice.account_id, "paper", "10000", "USDT")]
    created = await users.event("users.account.created", account_id=alice.account_id)
    assert created["starting_balance"] == "10000"
    assert created["org"] == alice.org


async def test_configured_starting_balance_is_a_decimal_string(
    users_sqlite: UsersHarness,
) -> None:
    h = users_sqlite
    assert h.settings.paper_starting_balance == "10000"
    bob = await h.register()
    r = await h.call("POST", "/api/v1/accounts", bob, json={
        "name": "small", "kind": "paper", "starting_balance": "2500.125"})
    assert r.status_code == 201, r.text
    assert r.json()["starting_balance"] == "2500.125"
    for bad in (2500.5, "1e400", "-1", "lots", "0.0000000000000000001"):
        r = await h.call("POST", "/api/v1/accounts", bob,
                         json={"name": "x", "kind": "paper", "starting_balance": bad})
        assert r.status_code == 422, bad
        assert r.json()["error"]["field"] == "starting_balance"


async def test_email_verification_token_is_mailed_not_stored(users: UsersHarness) -> None:
    alice = await users.register()
    event = await users.event("users.email.verification_requested", user_id=alice.id)
    token = event["token"]
    assert event["email"] == alice.email
    stored = await users.sql("SELECT token_hash FROM one_time_tokens")
    assert all(token not in row[0] for row in stored)
    bad = await users.client.post("/api/v1/auth/verify-email", json={"token": "ev_nope"})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "token"
    ok = await users.client.post("/api/v1/auth/verify-email", json={"token": token})
    assert ok.status_code == 204
    assert (await users.call("GET", "/api/v1/users/me", alice)).json()["email_verified"] is True
    again = await users.client.post("/api/v1/auth/verify-email", json={"token": token})
    assert again.status_code == 422


@pytest.mark.parametrize(("body", "field"), [
    ({"email": "not-an-email", "password": PASSWORD}, "email"),
    ({"email": "a@example.com", "password": "short"}, "password"),
    ({"email": "a@example.com", "password": "password1234"}, "password"),
    ({"email": "a@example.com", "password": PASSWORD, "timezone": "Mars/Base"}, "timezone"),
    ({"email": "a@example.com", "password": PASSWORD, "locale": "english"}, "locale"),
    ({"email": "a@example.com", "password": PASSWORD, "org": "org_x"}, "org"),
    ({"email": "a@example.com", "password": PASSWORD, "organisation": "x"}, "organisation"),
    ({"email": "a@example.com", "password": PASSWORD, "role": "admin"}, "role"),
    ({"email": "a@example.com", "password": PASSWORD, "is_admin": True}, "is_admin"),
    ({"email": "a@example.com", "password": PASSWORD, "user_id": "usr_x"}, "user_id"),
    ({"email": "a@example.com"}, "password"),
])
async def test_bad_registrations_are_4xx_and_change_nothing(
    users_sqlite: UsersHarness, body: dict[str, object], field: str,
) -> None:
    r = await users_sqlite.client.post(REGISTER, json=body)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["field"] == field
    assert err["code"] == "invalid"
    assert err["message"]
    for table in ("users", "organisations", "accounts", "outbox"):
        assert (await users_sqlite.sql(f"SELECT COUNT(*) FROM {table}"))[0][0] == 0  # noqa: S608


async def test_a_registered_email_gets_the_same_answer_and_its_owner_an_event(
    users: UsersHarness,
) -> None:
    """No enumeration: the answer for a taken address has the same status and shape as
    for a new one (made-up ids, nothing created); the owner hears about it instead."""
    alice = await users.register(login=False)
    fresh = await users.client.post(REGISTER, json={
        "email": f"fresh-{alice.email}", "password": PASSWORD})
    again = await users.client.post(REGISTER, json={"email": alice.email.upper(),
                                                    "password": "another long passphrase"})
    assert (again.status_code, fresh.status_code) == (201, 201), again.text
    assert set(again.json()) == set(fresh.json())
    assert again.json()["email"] == alice.email
    assert again.json()["email_verified"] is False
    for key, prefix in (("user_id", "usr_"), ("org", "org_"), ("account_id", "acc_")):
        assert again.json()[key].startswith(prefix)
        assert again.json()[key] != getattr(alice, {"user_id": "id"}.get(key, key))
    assert again.headers.keys() == fresh.headers.keys()
    assert (await users.sql("SELECT COUNT(*) FROM users"))[0][0] == 2  # alice and fresh
    assert (await users.sql("SELECT COUNT(*) FROM accounts"))[0][0] == 2
    event = await users.event("users.registration.repeated", user_id=alice.id)
    assert (event["email"], event["org"]) == (alice.email, alice.org)
    await users.login(alice)  # the owner's password did not change
    rows = await users.sql("SELECT detail FROM audit_log WHERE action = "
                           "'user.registration_repeated' AND target_id = :id", id=alice.id)
    assert len(rows) == 1
    # the made-up account is nobody's: not a way in either
    r = await users.call("GET", f"/api/v1/accounts/{again.json()['account_id']}", alice)
    assert r.status_code == 404


async def test_repeated_registrations_notify_the_owner_a_few_times_only(
    users_sqlite: UsersHarness,
) -> None:
    alice = await users_sqlite.register(login=False)
    for _ in range(5):
        r = await users_sqlite.client.post(REGISTER, json={"email": alice.email,
                                                           "password": PASSWORD})
        assert r.status_code == 201
    await users_sqlite.wait_for(lambda: len(users_sqlite.published(
        "users.registration.repeated")) >= 3)
    rows = await users_sqlite.sql("SELECT detail FROM audit_log WHERE action = "
                                  "'user.registration_repeated' ORDER BY seq")
    assert [json.loads(r[0])["notified"] for r in rows] == [True] * 3 + [False] * 2
    assert len(users_sqlite.published("users.registration.repeated")) == 3


async def test_profile_update_validates_and_audits(users: UsersHarness) -> None:
    alice = await users.register()
    r = await users.call("PATCH", "/api/v1/users/me", alice, json={"timezone": "Asia/Tokyo"})
    assert r.status_code == 200
    assert r.json()["timezone"] == "Asia/Tokyo"
    for body, field in (({"timezone": "Asia/Atlantis"}, "timezone"),
                        ({"email": "x@example.com"}, "email"),
                        ({"email_verified": True}, "email_verified")):
        r = await users.call("PATCH", "/api/v1/users/me", alice, json=body)
        assert r.status_code == 422
        assert r.json()["error"]["field"] == field
    me = (await users.call("GET", "/api/v1/users/me", alice)).json()
    assert (me["timezone"], me["email"], me["email_verified"]) == (
        "Asia/Tokyo", alice.email, False)
    rows = await users.sql("SELECT detail FROM audit_log WHERE action = 'profile.updated'")
    assert len(rows) == 1


async def test_user_routes_need_the_gateway_identity(users_sqlite: UsersHarness) -> None:
    alice = await users_sqlite.register()
    for headers in ({}, {"authorization": f"Bearer {alice.access_token}"},
                    {"x-argosy-identity": alice.access_token}):
        r = await users_sqlite.client.get("/api/v1/users/me", headers=headers)
        assert r.status_code == 401, headers
