"""Issue #4, an organisation's admin at work through the running gateway: ending a
member's session (the member's token stops working within moments, through the bus), and
editing then deleting a custom role (the holder's next token carries the change; every
step audited)."""

from __future__ import annotations

import time

import pytest

from tests.integration.gateway._live import Live, live_platform, wait_until

pytestmark = pytest.mark.e2e

ADMIN = "/api/v1/admin"
ME = "/api/v1/users/me"


@pytest.fixture(scope="session")
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Live:
    return live_platform(request, tmp_path_factory)


def test_an_admin_ends_a_members_session(live: Live) -> None:
    admin = live.register("127.0.0.121")
    member = live.invite(admin, "trader", ip="127.0.0.122")
    r = live.call("GET", f"{ADMIN}/users/{member.user_id}/sessions", headers=admin.auth)
    assert r.status_code == 200, r.text
    [session] = r.json()["items"]
    assert session["ip"] == "127.0.0.122"
    assert live.call("GET", ME, headers=member.auth).status_code == 200
    started = time.monotonic()
    r = live.call("DELETE", f"{ADMIN}/users/{member.user_id}/sessions/{session['id']}",
                  headers=admin.auth)
    assert r.status_code == 204, r.text
    wait_until(lambda: live.call("GET", ME, headers=member.auth).status_code == 401,
               timeout_s=5)
    assert time.monotonic() - started < 5  # not at the token's expiry
    refused = live.call("POST", "/api/v1/auth/refresh",
                        json={"refresh_token": member.refresh})
    assert refused.json()["error"]["code"] == "session_revoked"
    # the member (a trader, no users:admin) cannot look at the admin's sessions
    assert live.login(member).status_code == 200
    r = live.call("GET", f"{ADMIN}/users/{admin.user_id}/sessions", headers=member.auth)
    assert r.status_code == 403
    audit = live.call("GET", "/api/v1/audit?action=session.revoked_by_admin",
                      headers=admin.auth).json()["items"]
    assert [(a["actor"], a["target_id"]) for a in audit] == [
        (f"user:{admin.user_id}", session["id"])]


def test_a_custom_role_is_edited_then_deleted(live: Live) -> None:
    admin = live.register("127.0.0.123")
    r = live.call("POST", f"{ADMIN}/roles", headers=admin.auth,
                  json={"name": "desk", "permissions": ["accounts:read"]})
    assert r.status_code == 201, r.text
    holder = live.invite(admin, "desk", ip="127.0.0.124")
    r = live.call("POST", "/api/v1/accounts", headers=holder.auth,
                  json={"name": "x", "kind": "paper"})
    assert r.status_code == 403  # accounts:write is not the desk's (yet)
    r = live.call("PATCH", f"{ADMIN}/roles/desk", headers=admin.auth,
                  json={"permissions": ["accounts:read", "accounts:write"]})
    assert r.status_code == 200, r.text
    event = live.tap.wait_event("users.roles.changed", user_id=holder.user_id,
                                permissions=["accounts:read", "accounts:write"])
    assert event["actor"] == f"user:{admin.user_id}"
    refreshed = live.call("POST", "/api/v1/auth/refresh",
                          json={"refresh_token": holder.refresh})
    assert refreshed.status_code == 200, refreshed.text
    holder.access = refreshed.json()["access_token"]
    r = live.call("POST", "/api/v1/accounts", headers=holder.auth,
                  json={"name": "x", "kind": "paper"})
    assert r.status_code == 201, r.text  # the next token carries the change
    assert live.call("DELETE", f"{ADMIN}/roles/desk", headers=admin.auth
                     ).status_code == 409  # still held
    r = live.call("DELETE", f"{ADMIN}/users/{holder.user_id}/roles/desk", headers=admin.auth)
    assert r.status_code == 200, r.text
    assert live.call("DELETE", f"{ADMIN}/roles/desk", headers=admin.auth).status_code == 204
    actions = [a["action"] for a in live.call(
        "GET", "/api/v1/audit", headers=admin.auth).json()["items"]
        if a["action"].startswith("role.")]
    assert actions == ["role.deleted", "role.revoked", "role.updated", "role.created"]
