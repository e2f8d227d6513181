"""Organisation administration: invitations, roles (built-in and custom), disabling."""

from __future__ import annotations

import pytest

from argosy.contracts.v1.identity import BUILTIN_ROLES
from argosy.platform.settings import PlatformSettings
from argosy.services.users.domain.rbac import PLATFORM_PERMISSIONS
from tests.integration.users._harness import OffsetClock, UsersHarness
from tests.integration.users.conftest import running, users_settings

pytestmark = pytest.mark.integration

ADMIN = "/api/v1/admin"


async def test_invited_member_joins_the_inviting_organisation(users: UsersHarness) -> None:
    admin = await users.register()
    member = await users.invite(admin, roles=["viewer"])
    assert member.org == admin.org
    assert member.claims["roles"] == ["viewer"]
    assert set(member.claims["perms"]) == BUILTIN_ROLES["viewer"]
    assert member.account_id is not None  # every new user gets a paper account
    listed = (await users.call("GET", f"{ADMIN}/users", admin)).json()["items"]
    assert sorted(u["id"] for u in listed) == sorted([admin.id, member.id])
    assert (await users.sql("SELECT COUNT(*) FROM organisations"))[0][0] == 1
    r = await users.call("GET", f"{ADMIN}/users", member)
    assert r.status_code == 403


async def test_role_changes_are_audited_published_and_reach_the_next_token(
    users: UsersHarness,
) -> None:
    admin = await users.register()
    member = await users.invite(admin, roles=["viewer"])
    r = await users.call("POST", f"{ADMIN}/users/{member.id}/roles", admin,
                         json={"role": "trader"})
    assert r.status_code == 200
    assert r.json()["roles"] == ["trader", "viewer"]
    event = await users.event("users.roles.changed", user_id=member.id,
                              roles=["trader", "viewer"])
    assert "orders:write" in event["permissions"]
    fresh = (await users.client.post("/api/v1/auth/refresh",
                                     json={"refresh_token": member.refresh_token})).json()
    member.access_token = fresh["access_token"]
    assert "orders:write" in member.claims["perms"]
    r = await users.call("DELETE", f"{ADMIN}/users/{member.id}/roles/trader", admin)
    assert r.json()["roles"] == ["viewer"]
    rows = await users.sql("SELECT action, actor, target_id FROM audit_log "
                           "WHERE action LIKE 'role.%' ORDER BY seq")
    assert rows == [("role.assigned", f"user:{admin.id}", member.id),
                    ("role.revoked", f"user:{admin.id}", member.id)]


async def test_custom_roles_and_the_limits_of_delegation(users: UsersHarness) -> None:
    admin = await users.register()
    r = await users.call("POST", f"{ADMIN}/roles", admin, json={
        "name": "desk-admin", "permissions": ["users:admin", "orders:read"]})
    assert r.status_code == 201, r.text
    for body, field in (({"name": "admin", "permissions": ["orders:read"]}, "name"),
                        ({"name": "x1", "permissions": ["root:everything"]}, "permissions"),
                        ({"name": "x2", "permissions": ["orders:read"], "org": "o"}, "org")):
        r = await users.call("POST", f"{ADMIN}/roles", admin, json=body)
        assert r.status_code == 422
        assert r.json()["error"]["field"] == field
    names = [x["name"] for x in (await users.call("GET", f"{ADMIN}/roles", admin)).json()["items"]]
    assert names == ["admin", "trader", "viewer", "auditor", "desk-admin"]
    deputy = await users.invite(admin, roles=["desk-admin"])
    assert set(deputy.claims["perms"]) == {"users:admin", "orders:read"}
    victim = await users.invite(admin, roles=["viewer"])
    r = await users.call("POST", f"{ADMIN}/users/{victim.id}/roles", deputy,
                         json={"role": "admin"})
    assert r.status_code == 403  # cannot hand out what it does not hold
    r = await users.call("POST", f"{ADMIN}/users/{deputy.id}/roles", deputy,
                         json={"role": "trader"})
    assert r.status_code == 403
    r = await users.call("POST", f"{ADMIN}/users/{victim.id}/roles", admin,
                         json={"role": "nonexistent"})
    assert r.status_code == 422


async def test_the_last_admin_stays(users_sqlite: UsersHarness) -> None:
    h = users_sqlite
    admin = await h.register()
    r = await h.call("DELETE", f"{ADMIN}/users/{admin.id}/roles/admin", admin)
    assert r.status_code == 409
    second = await h.invite(admin, roles=["admin"])
    r = await h.call("DELETE", f"{ADMIN}/users/{admin.id}/roles/admin", second)
    assert r.status_code == 200


async def test_disabling_a_user_ends_sessions_and_keys(users: UsersHarness) -> None:
    admin = await users.register()
    member = await users.invite(admin, roles=["trader"])
    key = (await users.call("POST", "/api/v1/api-keys", member,
                            json={"name": "b", "scopes": ["orders:read"]})).json()
    assert (await users.call("POST", f"{ADMIN}/users/{admin.id}/disable", admin)
            ).status_code == 409  # not yourself
    r = await users.call("POST", f"{ADMIN}/users/{member.id}/disable", admin)
    assert r.status_code == 200
    assert r.json()["status"] == "disabled"
    sid = member.claims["sid"]
    event = await users.event("users.session.revoked", session_id=sid)
    assert event["reason"] == "user_disabled"
    await users.event("users.api_key.revoked", key_id=key["key_id"])
    r = await users.client.post("/api/v1/auth/refresh",
                                json={"refresh_token": member.refresh_token})
    assert r.status_code == 401
    assert (await users.call("GET", "/api/v1/users/me", member)).status_code == 401
    r = await users.login(member, expect=401)
    assert r.json()["error"]["code"] == "account_disabled"
    assert (await users.call("POST", f"{ADMIN}/users/{member.id}/enable", admin)
            ).status_code == 200
    await users.login(member)


async def test_platform_permissions_come_only_with_an_operators_organisation(
    platform_settings: PlatformSettings,
) -> None:
    """Registering makes you admin of your organisation, not of the platform: configuration
    and market-data feeds are every tenant's, so only ARGOSY_USERS_PLATFORM_ORGS grant them."""
    async with running(platform_settings, users_settings(), OffsetClock()) as h:
        tenant = await h.register()
        assert not set(tenant.claims["perms"]) & PLATFORM_PERMISSIONS
        r = await h.call("POST", f"{ADMIN}/roles", tenant, json={
            "name": "ops", "permissions": ["config:write"]})
        assert (r.status_code, r.json()["error"]["field"]) == (422, "permissions")
        roles = (await h.call("GET", f"{ADMIN}/roles", tenant)).json()["items"]
        assert not set(roles[0]["permissions"]) & PLATFORM_PERMISSIONS  # admin, as granted
        member = await h.invite(tenant, roles=["admin"])  # its admin role is still its own
        assert set(member.claims["perms"]) == set(tenant.claims["perms"])
        r = await h.call("POST", "/api/v1/api-keys", tenant,
                         json={"name": "k", "scopes": ["config:read"]})
        assert r.status_code in (403, 422)
    operators = users_settings(platform_orgs=[tenant.org])
    async with running(platform_settings, operators, OffsetClock()) as h:
        await h.login(tenant)
        assert set(tenant.claims["perms"]) >= PLATFORM_PERMISSIONS
        r = await h.call("POST", f"{ADMIN}/roles", tenant, json={
            "name": "ops", "permissions": ["config:write"]})
        assert r.status_code == 201, r.text
