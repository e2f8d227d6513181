"""Access JWTs against the JWKS, refresh rotation with reuse detection and a grace window,
and signing-key rotation that logs nobody out."""

from __future__ import annotations

import asyncio
from typing import Any

import jwt
import pytest

from argosy.contracts.v1.identity import BUILTIN_ROLES, AccessClaims
from argosy.platform.auth.internal import Principal
from argosy.services.users.domain.rbac import PLATFORM_PERMISSIONS
from tests.integration.users._harness import User, UsersHarness

pytestmark = pytest.mark.integration

REFRESH = "/api/v1/auth/refresh"
OPERATOR = Principal("operator:ops", frozenset({"users:keys"}))


async def jwks(h: UsersHarness) -> dict[str, Any]:
    r = await h.client.get("/.well-known/jwks.json")
    assert r.status_code == 200
    return dict(r.json())


def verify(token: str, keyset: dict[str, Any]) -> dict[str, Any]:
    """What the gateway does: pick the key by kid, EdDSA only, check aud and iss."""
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in keyset["keys"] if k["kid"] == kid)
    key = jwt.PyJWK(jwk)
    return dict(jwt.decode(token, key.key, algorithms=["EdDSA"], audience="argosy",
                           issuer="argosy-users"))


async def test_access_token_verifies_against_the_jwks_with_exactly_the_claims(
    users: UsersHarness,
) -> None:
    alice = await users.register()
    header = jwt.get_unverified_header(alice.access_token)
    assert header["alg"] == "EdDSA"
    assert header["typ"] == "JWT"
    keyset = await jwks(users)
    assert [k["kty"] for k in keyset["keys"]] == ["OKP"]
    assert all("d" not in k for k in keyset["keys"])  # never the private part
    claims = verify(alice.access_token, keyset)
    assert set(claims) == set(AccessClaims.model_fields)
    parsed = AccessClaims.model_validate(claims)
    assert (parsed.sub, parsed.org, parsed.typ) == (alice.id, alice.org, "access")
    assert parsed.roles == ["admin"]
    # the registrant administers a new organisation, not the platform
    assert set(parsed.perms) == BUILTIN_ROLES["admin"] - PLATFORM_PERMISSIONS
    assert parsed.exp - parsed.iat == users.settings.access_ttl_s
    assert parsed.nbf == parsed.iat
    sid = (await users.sql("SELECT id FROM sessions"))[0][0]
    assert parsed.sid == sid
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(alice.access_token, jwt.PyJWK(keyset["keys"][0]).key, algorithms=["EdDSA"],
                   audience="someone-else")


async def refresh(h: UsersHarness, token: str) -> Any:
    return await h.client.post(REFRESH, json={"refresh_token": token})


async def test_refresh_rotates_and_reuse_revokes_the_whole_family(users: UsersHarness) -> None:
    alice = await users.register()
    r1 = await refresh(users, alice.refresh_token)
    assert r1.status_code == 200
    t1 = r1.json()
    assert t1["refresh_token"] != alice.refresh_token
    t2 = (await refresh(users, t1["refresh_token"])).json()
    users.clock.advance(users.settings.refresh_grace_s + 1)
    stolen = await refresh(users, alice.refresh_token)  # the first, long consumed
    assert stolen.status_code == 401
    assert stolen.json()["error"]["code"] == "refresh_reused"
    victim = await refresh(users, t2["refresh_token"])  # the family's newest is dead too
    assert victim.status_code == 401
    assert victim.json()["error"]["code"] == "session_revoked"
    event = await users.event("users.session.revoked", reason="refresh_reuse")
    assert event["user_id"] == alice.id
    audit = await users.sql(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'session.refresh_reuse_detected'")
    assert audit[0][0] == 1


async def test_concurrent_refreshes_within_grace_share_one_new_pair(users: UsersHarness) -> None:
    alice = await users.register()
    answers = await asyncio.gather(*(refresh(users, alice.refresh_token) for _ in range(4)))
    assert [a.status_code for a in answers] == [200] * 4
    pairs = {(a.json()["access_token"], a.json()["refresh_token"]) for a in answers}
    assert len(pairs) == 1
    (_, newest), = pairs
    users.clock.advance(users.settings.refresh_grace_s / 2)
    late = await refresh(users, alice.refresh_token)  # a slow tab, still within grace
    assert late.status_code == 200
    assert late.json()["refresh_token"] == newest
    assert (await refresh(users, newest)).status_code == 200  # nobody was logged out
    assert users.published("users.session.revoked") == []


async def test_grace_ends_once_the_child_was_used(users: UsersHarness) -> None:
    alice = await users.register()
    child = (await refresh(users, alice.refresh_token)).json()["refresh_token"]
    assert (await refresh(users, child)).status_code == 200
    replay = await refresh(users, alice.refresh_token)  # within grace, but the child moved on
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "refresh_reused"


async def test_refresh_tokens_are_not_access_tokens_and_vice_versa(
    users: UsersHarness,
) -> None:
    alice = await users.register()
    assert (await refresh(users, alice.access_token)).status_code == 401
    assert (await refresh(users, "rt_" + "A" * 43)).status_code == 401
    with pytest.raises(jwt.DecodeError):
        jwt.decode(alice.refresh_token, options={"verify_signature": False})


async def rotate(h: UsersHarness, who: Principal | User | None = OPERATOR) -> Any:
    return await h.call("POST", "/internal/v1/signing-keys/rotate", who)


async def test_key_rotation_keeps_old_tokens_valid_until_they_expire(
    users: UsersHarness,
) -> None:
    alice = await users.register()
    old_kid = jwt.get_unverified_header(alice.access_token)["kid"]
    r = await rotate(users)
    assert r.status_code == 200, r.text
    assert r.json()["previous"] == old_kid
    new_kid = r.json()["kid"]
    keyset = await jwks(users)
    assert {k["kid"] for k in keyset["keys"]} == {old_kid, new_kid}
    assert verify(alice.access_token, keyset)["sub"] == alice.id  # still valid
    bob = await users.register()
    assert jwt.get_unverified_header(bob.access_token)["kid"] == new_kid
    fresh = (await refresh(users, alice.refresh_token)).json()  # still logged in
    assert jwt.get_unverified_header(fresh["access_token"])["kid"] == new_kid
    st = users.settings
    users.clock.advance(st.access_ttl_s + st.key_cache_s + 61)
    assert {k["kid"] for k in (await jwks(users))["keys"]} == {new_kid}
    rows = await users.sql("SELECT actor FROM audit_log WHERE action = 'signing_key.rotated'")
    assert rows == [("operator:ops",)]


async def test_only_operators_with_users_keys_rotate(users_sqlite: UsersHarness) -> None:
    alice = await users_sqlite.register()
    assert (await rotate(users_sqlite, alice)).status_code == 403  # even an org admin
    user_with_perm = Principal(f"user:{alice.id}", frozenset({"users:keys"}), alice.org)
    assert (await rotate(users_sqlite, user_with_perm)).status_code == 403
    assert (await rotate(users_sqlite, None)).status_code == 401
    assert len((await jwks(users_sqlite))["keys"]) == 1
