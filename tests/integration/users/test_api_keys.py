"""Platform API keys: scopes within the owner's permissions, IP allow-list, expiry, the
secret shown once, and the gateway-only grant that verifies signed requests."""

from __future__ import annotations

import time

import pytest

from argosy.contracts.v1.identity import ApiKeyGrant, sign_request
from argosy.platform.auth.internal import Principal
from argosy.services.users.domain.api_keys import SignedRequest, verify_signed_request
from tests.integration.users._harness import User, UsersHarness

pytestmark = pytest.mark.integration

URL = "/api/v1/api-keys"
GATEWAY = Principal("service:gateway", frozenset())


async def create(h: UsersHarness, user: User, **body: object) -> dict[str, object]:
    payload = {"name": "bot", "scopes": ["orders:read", "orders:write"], **body}
    r = await h.call("POST", URL, user, json=payload)
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    return dict(r.json())


async def test_create_list_and_the_secret_shown_once(users: UsersHarness) -> None:
    alice = await users.register()
    key = await create(users, alice, allowed_ips=["10.0.0.0/8", "192.0.2.7"],
                       expires_in_days=30)
    secret = str(key["secret"])
    assert key["status"] == "active"
    assert key["allowed_ips"] == ["10.0.0.0/8", "192.0.2.7/32"]
    listed = (await users.call("GET", URL, alice)).json()["items"]
    assert [k["key_id"] for k in listed] == [key["key_id"]]
    assert "secret" not in listed[0]
    one = await users.call("GET", f"{URL}/{key['key_id']}", alice)
    assert secret not in one.text
    assert secret not in str(await users.sql("SELECT * FROM api_keys"))


async def test_scopes_and_networks_are_validated(users: UsersHarness) -> None:
    alice = await users.register()
    viewer = await users.invite(alice, roles=["viewer"])
    for who, body, field in (
        (alice, {"scopes": ["orders:destroy"]}, "scopes"),
        (alice, {"scopes": []}, "scopes"),
        (viewer, {"scopes": ["orders:write"]}, "scopes"),  # more than the owner holds
        (alice, {"scopes": ["orders:read"], "allowed_ips": ["10.0.0.1/8"]}, "allowed_ips.0"),
        (alice, {"scopes": ["orders:read"], "allowed_ips": ["nope"]}, "allowed_ips.0"),
        (alice, {"scopes": ["orders:read"], "expires_in_days": 0}, "expires_in_days"),
        (alice, {"scopes": ["orders:read"], "user_id": alice.id}, "user_id"),
    ):
        r = await users.call("POST", URL, who, json={"name": "k", **body})
        assert r.status_code == 422, body
        assert r.json()["error"]["field"] == field
    assert (await users.sql("SELECT COUNT(*) FROM api_keys"))[0][0] == 0
    capped = await create(users, alice, expires_in_days=100_000)
    assert capped["expires_at"] is not None


async def test_the_gateway_gets_a_grant_that_verifies_signed_requests(
    users: UsersHarness,
) -> None:
    alice = await users.register()
    key = await create(users, alice, allowed_ips=["203.0.113.0/24"])
    r = await users.call("GET", f"/internal/v1/api-keys/{key['key_id']}", GATEWAY)
    assert r.status_code == 200, r.text
    grant = ApiKeyGrant.model_validate(r.json())
    assert (grant.user_id, grant.org, grant.secret) == (alice.id, alice.org, key["secret"])
    assert grant.permissions == ["orders:read", "orders:write"]
    now = int(time.time() * 1000)
    body = b'{"symbol":"BTCUSDT"}'
    sig = sign_request(grant.secret, "POST", "/api/v1/orders", "", body, now, "n" * 20)
    req = SignedRequest("POST", "/api/v1/orders", "", body, str(now), "n" * 20, sig)
    assert verify_signed_request(grant, req, now_ms=now, client_ip="203.0.113.5").ok
    assert verify_signed_request(grant, req, now_ms=now + 6000,
                                 client_ip="203.0.113.5").reason == "outside_window"
    assert verify_signed_request(grant, req, now_ms=now,
                                 client_ip="198.51.100.1").reason == "ip_not_allowed"
    for who, status in ((Principal("service:trading", frozenset()), 403),
                        (Principal(f"user:{alice.id}", frozenset({"*"}), alice.org), 403),
                        (None, 401)):
        r = await users.call("GET", f"/internal/v1/api-keys/{key['key_id']}", who)
        assert r.status_code == status
        assert str(key["secret"]) not in r.text


async def test_revocation_and_a_narrowed_owner(users: UsersHarness) -> None:
    alice = await users.register()
    member = await users.invite(alice, roles=["trader"])
    key = await create(users, member)
    grant_url = f"/internal/v1/api-keys/{key['key_id']}"
    r = await users.call("POST", f"/api/v1/admin/users/{member.id}/roles", alice,
                         json={"role": "viewer"})
    assert r.status_code == 200
    r = await users.call("DELETE", f"/api/v1/admin/users/{member.id}/roles/trader", alice)
    assert r.status_code == 200
    narrowed = (await users.call("GET", grant_url, GATEWAY)).json()
    assert narrowed["permissions"] == ["orders:read"]  # scopes ∩ what the owner holds now
    assert (await users.call("DELETE", f"{URL}/{key['key_id']}", member)).status_code == 204
    event = await users.event("users.api_key.revoked", key_id=key["key_id"])
    assert event["user_id"] == member.id
    assert (await users.call("GET", grant_url, GATEWAY)).status_code == 404
    listed = (await users.call("GET", URL, member)).json()["items"]
    assert listed[0]["status"] == "revoked"
    assert (await users.call("DELETE", f"{URL}/{key['key_id']}", member)).status_code == 204
