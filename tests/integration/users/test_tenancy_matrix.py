"""A generated matrix over every route that takes an object id: another tenant's token on
user A's objects gets 404 every time (never 403, never 200), and changes nothing. Routes
come from the app's own OpenAPI description, so a new route with an id joins the matrix
or fails the test until it has a sample body."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.integration.users._harness import User, UsersHarness

pytestmark = pytest.mark.integration

PDF = b"%PDF-1.4 passport"

#: bodies that are valid, so nothing but ownership can refuse the call
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/accounts/{account_id}/credentials"): {"api_key": "KEY-B-123456",
                                                            "api_secret": "SECRET-B"},
    ("POST", "/api/v1/kyc/cases/{user_id}/review"): {"action": "start_review"},
    ("POST", "/api/v1/admin/users/{user_id}/roles"): {"role": "viewer"},
    ("PATCH", "/api/v1/admin/roles/{role}"): {"permissions": ["orders:read"]},
}
PERSONAL = ("/api/v1/accounts", "/api/v1/api-keys", "/api/v1/kyc/documents",
            "/api/v1/users/me")


async def id_routes(h: UsersHarness) -> list[tuple[str, str, bool]]:
    spec = (await h.client.get("/openapi.json")).json()
    out = []
    for path, ops in spec["paths"].items():
        if "{" not in path or path.startswith("/internal/"):
            continue
        for method, op in ops.items():
            out.append((method.upper(), path, "requestBody" in op))
    return sorted(out)


async def alice_world(h: UsersHarness) -> tuple[User, dict[str, str]]:
    alice = await h.register()
    await h.login(alice, ua="second-device")
    account = (await h.call("POST", "/api/v1/accounts", alice, json={
        "name": "ex", "kind": "exchange", "venue": "binance"})).json()["id"]
    assert (await h.call("POST", f"/api/v1/accounts/{account}/credentials", alice, json={
        "api_key": "KEY-A-123456", "api_secret": "SECRET-A"})).status_code == 200
    key = (await h.call("POST", "/api/v1/api-keys", alice,
                        json={"name": "k", "scopes": ["orders:read"]})).json()["key_id"]
    doc = (await h.call("POST", "/api/v1/kyc", alice, files={
        "file": ("p.pdf", PDF, "application/pdf")}, data={"kind": "passport"})
           ).json()["documents"][0]["id"]
    session = (await h.call("GET", "/api/v1/users/me/sessions", alice)).json()["items"][0]["id"]
    device = (await h.call("GET", "/api/v1/users/me/devices", alice)).json()["items"][0]["id"]
    assert (await h.call("POST", "/api/v1/admin/roles", alice, json={
        "name": "desk-alice", "permissions": ["orders:read"]})).status_code == 201
    ids = {"account_id": account, "key_id": key, "user_id": alice.id, "document_id": doc,
           "session_id": session, "device_id": device, "role": "desk-alice"}
    return alice, ids


async def snapshot(h: UsersHarness) -> list[Any]:
    queries = ("SELECT account_id, sealed FROM credentials",
               "SELECT id, revoked_ns FROM api_keys",
               "SELECT id, org_id, user_id, name FROM accounts",
               "SELECT user_id, state FROM kyc_cases",
               "SELECT id, revoked_ns FROM sessions",
               "SELECT id FROM devices",
               "SELECT user_id, role FROM role_grants",
               "SELECT org_id, name, permissions, description FROM custom_roles",
               "SELECT id, status FROM users")
    return [sorted(await h.sql(q)) for q in queries]


def fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)


async def test_another_tenant_gets_404_on_every_object_route(users: UsersHarness) -> None:
    h = users
    alice, ids = await alice_world(h)
    bob = await h.register()  # admin of his own organisation: holds every permission
    routes = await id_routes(h)
    assert len(routes) >= 15
    missing = [(m, p) for m, p, body in routes if body and (m, p) not in BODIES]
    assert not missing, f"add sample bodies for {missing}"
    before = await snapshot(h)
    results = {}
    for method, path, _ in routes:
        r = await h.call(method, fill(path, ids), bob, json=BODIES.get((method, path)))
        results[(method, path)] = r.status_code
        assert "SECRET-A" not in r.text
        assert "KEY-A-123456" not in r.text
    assert {k: v for k, v in results.items() if v != 404} == {}
    assert await snapshot(h) == before
    listed = (await h.call("GET", "/api/v1/accounts", bob)).json()["items"]
    assert all(a["id"] != ids["account_id"] for a in listed)
    assert (await h.call("GET", "/api/v1/api-keys", bob)).json()["items"] == []
    assert alice.id not in (await h.call("GET", "/api/v1/admin/users", bob)).text


async def test_a_colleague_gets_404_on_personal_objects(users: UsersHarness) -> None:
    h = users
    alice, ids = await alice_world(h)
    colleague = await h.invite(alice, roles=["trader"])
    before = await snapshot(h)
    checked = 0
    for method, path, _ in await id_routes(h):
        if not path.startswith(PERSONAL):
            continue
        r = await h.call(method, fill(path, ids), colleague, json=BODIES.get((method, path)))
        assert r.status_code == 404, (method, path, r.status_code)
        checked += 1
    assert checked >= 9
    assert await snapshot(h) == before
