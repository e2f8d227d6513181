"""Organisation administration, continued: custom roles edited and deleted (audited, the
holders told), and an admin's view of a member's sessions, within one organisation."""

from __future__ import annotations

import json

import pytest

from tests.integration.users._harness import UsersHarness

pytestmark = pytest.mark.integration

ADMIN = "/api/v1/admin"


def _detail(value: object) -> object:
    return value if isinstance(value, dict) else json.loads(str(value))


async def test_an_admin_lists_and_ends_a_members_sessions(users: UsersHarness) -> None:
    admin = await users.register()
    member = await users.invite(admin, roles=["viewer"])
    await users.login(member, ua="second-browser")  # a second session
    r = await users.call("GET", f"{ADMIN}/users/{member.id}/sessions", admin)
    assert r.status_code == 200, r.text
    sessions = r.json()["items"]
    assert len(sessions) == 2
    assert {s["user_agent"] for s in sessions} == {"pytest-agent", "second-browser"}
    sid = member.claims["sid"]  # the newest login's session
    r = await users.call("DELETE", f"{ADMIN}/users/{member.id}/sessions/{sid}", admin)
    assert r.status_code == 204
    event = await users.event("users.session.revoked", session_id=sid)
    assert event["reason"] == "admin_revoked"
    left = (await users.call("GET", f"{ADMIN}/users/{member.id}/sessions", admin)).json()
    assert [s["id"] for s in left["items"]] != [sid]
    assert len(left["items"]) == 1
    again = await users.call("DELETE", f"{ADMIN}/users/{member.id}/sessions/{sid}", admin)
    assert again.status_code == 404
    rows = await users.sql("SELECT actor, target_id, detail FROM audit_log "
                           "WHERE action = 'session.revoked_by_admin'")
    assert [(a, t, _detail(d)) for a, t, d in rows] == [
        (f"user:{admin.id}", sid, {"user_id": member.id})]
    # a member is no admin; another organisation's admin does not find the user
    assert (await users.call("GET", f"{ADMIN}/users/{admin.id}/sessions", member)
            ).status_code == 403
    stranger = await users.register()
    for method, url in (("GET", f"{ADMIN}/users/{member.id}/sessions"),
                        ("DELETE", f"{ADMIN}/users/{member.id}/sessions/{left['items'][0]['id']}")):
        r = await users.call(method, url, stranger)
        assert r.status_code == 404, r.text
    assert len((await users.call("GET", f"{ADMIN}/users/{member.id}/sessions", admin)
                ).json()["items"]) == 1


async def test_a_custom_role_is_edited_and_its_holders_told(users: UsersHarness) -> None:
    admin = await users.register()
    r = await users.call("POST", f"{ADMIN}/roles", admin,
                         json={"name": "desk", "permissions": ["orders:read"]})
    assert r.status_code == 201, r.text
    holder = await users.invite(admin, roles=["desk"])
    r = await users.call("PATCH", f"{ADMIN}/roles/desk", admin, json={
        "permissions": ["orders:read", "orders:write"], "description": "the trading desk"})
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "desk", "permissions": ["orders:read", "orders:write"],
                        "builtin": False, "description": "the trading desk"}
    await users.event("users.roles.changed", user_id=holder.id,
                      permissions=["orders:read", "orders:write"])
    fresh = (await users.client.post("/api/v1/auth/refresh",
                                     json={"refresh_token": holder.refresh_token})).json()
    holder.access_token = fresh["access_token"]
    assert set(holder.claims["perms"]) == {"orders:read", "orders:write"}
    rows = await users.sql("SELECT target_id, detail FROM audit_log "
                           "WHERE action = 'role.updated'")
    assert [(t, _detail(d)) for t, d in rows] == [("desk", {
        "before": ["orders:read"], "after": ["orders:read", "orders:write"],
        "description": "the trading desk"})]
    # refusals: built-in roles, unknown ones, bad permissions, unknown fields
    for url, body, status, field in (
        (f"{ADMIN}/roles/viewer", {"permissions": ["orders:read"]}, 409, "name"),
        (f"{ADMIN}/roles/nope", {"permissions": ["orders:read"]}, 404, "name"),
        (f"{ADMIN}/roles/desk", {"permissions": ["root:all"]}, 422, "permissions"),
        (f"{ADMIN}/roles/desk", {"permissions": []}, 422, "permissions"),
        (f"{ADMIN}/roles/desk", {"name": "renamed"}, 422, "name"),
    ):
        r = await users.call("PATCH", url, admin, json=body)
        assert (r.status_code, r.json()["error"]["field"]) == (status, field), (url, body)


async def test_nobody_edits_a_role_beyond_what_they_hold(users: UsersHarness) -> None:
    admin = await users.register()
    for name, perms in (("deputy", ["users:admin", "orders:read"]),
                        ("desk", ["orders:read", "orders:write"])):
        r = await users.call("POST", f"{ADMIN}/roles", admin,
                             json={"name": name, "permissions": perms})
        assert r.status_code == 201, r.text
    deputy = await users.invite(admin, roles=["deputy"])
    r = await users.call("PATCH", f"{ADMIN}/roles/desk", deputy,
                         json={"permissions": ["orders:read"]})
    assert r.status_code == 403  # narrowing a role it could not have granted
    r = await users.call("PATCH", f"{ADMIN}/roles/deputy", deputy,
                         json={"permissions": ["users:admin", "orders:read", "risk:admin"]})
    assert r.status_code == 403  # promoting itself
    r = await users.call("DELETE", f"{ADMIN}/roles/desk", deputy)
    assert r.status_code == 403
    roles = {x["name"]: x for x in (await users.call("GET", f"{ADMIN}/roles", admin)
                                    ).json()["items"]}
    assert roles["desk"]["permissions"] == ["orders:read", "orders:write"]
    assert roles["deputy"]["permissions"] == ["orders:read", "users:admin"]


async def test_a_role_is_deleted_only_once_nobody_holds_it(users: UsersHarness) -> None:
    admin = await users.register()
    r = await users.call("POST", f"{ADMIN}/roles", admin,
                         json={"name": "desk", "permissions": ["orders:read"]})
    assert r.status_code == 201
    holder = await users.invite(admin, roles=["desk"])
    r = await users.call("DELETE", f"{ADMIN}/roles/desk", admin)
    assert r.status_code == 409
    assert r.json()["error"]["details"] == {"holders": [holder.id]}
    stranger = await users.register()  # another organisation: no such role there
    assert (await users.call("DELETE", f"{ADMIN}/roles/desk", stranger)).status_code == 404
    assert (await users.call("DELETE", f"{ADMIN}/roles/viewer", admin)).status_code == 409
    r = await users.call("DELETE", f"{ADMIN}/users/{holder.id}/roles/desk", admin)
    assert r.status_code == 200
    assert (await users.call("DELETE", f"{ADMIN}/roles/desk", admin)).status_code == 204
    assert (await users.call("DELETE", f"{ADMIN}/roles/desk", admin)).status_code == 404
    names = [x["name"] for x in (await users.call("GET", f"{ADMIN}/roles", admin)
                                 ).json()["items"]]
    assert "desk" not in names
    rows = await users.sql("SELECT action, actor, target_id FROM audit_log "
                           "WHERE action LIKE 'role.%' ORDER BY seq")
    assert [r[0] for r in rows] == ["role.created", "role.revoked", "role.deleted"]
    assert rows[-1][1:] == (f"user:{admin.id}", "desk")
    # the name is free again
    r = await users.call("POST", f"{ADMIN}/roles", admin,
                         json={"name": "desk", "permissions": ["orders:read"]})
    assert r.status_code == 201
