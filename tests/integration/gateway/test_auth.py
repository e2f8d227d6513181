"""Bearer tokens at the gateway: every attack is a 401, permissions are a 403, and the
upstream sees only the identity the gateway minted."""

from __future__ import annotations

import asyncio
import time

import pytest

from argosy.contracts.topics import USERS_EVENTS
from argosy.contracts.v1.identity import BUILTIN_ROLES
from argosy.platform.auth.internal import Principal
from tests.integration.gateway.conftest import Harness
from tests.unit.services.gateway._forge import SigningKey, attacks

ATTACKS = list(attacks(SigningKey(), SigningKey()))


@pytest.mark.parametrize("attack", ATTACKS)
async def test_every_jwt_attack_is_401_with_a_challenge(gw: Harness, attack: str) -> None:
    token = attacks(gw.stack.key, SigningKey())[attack]
    before = gw.stack.trading[0].calls + gw.stack.trading[1].calls
    r = await gw.client.get("/api/v1/orders", headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"].startswith('Bearer realm="argosy", error="invalid_token"')
    assert r.json()["error"]["code"] == "unauthorized"
    assert gw.stack.trading[0].calls + gw.stack.trading[1].calls == before  # never forwarded


async def test_missing_credentials_401(gw: Harness) -> None:
    r = await gw.client.post("/api/v1/orders", json={})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="argosy"'
    assert (await gw.client.get("/api/v1/orders",
                                headers={"authorization": "Basic dTpw"})).status_code == 401


async def test_viewer_cannot_place_an_order_but_can_read(gw: Harness) -> None:
    viewer = gw.bearer(roles=["viewer"], perms=sorted(BUILTIN_ROLES["viewer"]))
    r = await gw.client.post("/api/v1/orders", json={"qty": "1"}, headers=viewer)
    assert r.status_code == 403
    assert r.json()["error"] == {"code": "forbidden", "message": "orders:write required",
                                 "field": "permission", "request_id": r.headers["x-request-id"]}
    assert (await gw.client.get("/api/v1/orders", headers=viewer)).status_code == 200
    trader = await gw.client.post("/api/v1/orders", json={"qty": "1"}, headers=gw.bearer())
    assert trader.status_code == 200
    assert trader.json()["body"] == '{"qty":"1"}'


async def test_upstream_gets_a_fresh_identity_and_never_the_forged_one(gw: Harness) -> None:
    forged = gw.stack.auth.mint(Principal("operator:mallory", frozenset({"*"})))
    r = await gw.client.get("/api/v1/orders/7?b=2&a=1", headers={
        **gw.bearer(sub="u-bob", org="org-9", perms=["orders:read"]),
        "x-argosy-identity": forged, "X-Argosy-Identity": forged, "x-forwarded-for": "6.6.6.6",
        "connection": "x-secret-hop", "x-secret-hop": "1"})
    assert r.status_code == 200, r.text
    seen = r.json()
    assert seen["principal"] == {"subject": "user:u-bob", "permissions": ["orders:read"],
                                 "org": "org-9"}
    identities = [v for k, v in seen["header_list"] if k == "x-argosy-identity"]
    assert len(identities) == 1
    assert identities[0] != forged
    assert seen["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert "x-secret-hop" not in seen["headers"]
    assert (seen["path"], seen["query"]) == ("/api/v1/orders/7", "b=2&a=1")
    assert seen["headers"]["x-request-id"] == r.headers["x-request-id"]


async def test_forged_identity_alone_gets_nowhere(gw: Harness) -> None:
    forged = gw.stack.auth.mint(Principal("user:u-alice", frozenset({"orders:write"})))
    assert (await gw.client.post("/api/v1/orders", headers={"x-argosy-identity": forged})
            ).status_code == 401
    public = await gw.client.post("/api/v1/auth/login", json={"email": "a@b.c"},
                                  headers={"x-argosy-identity": forged})
    assert public.status_code == 200
    assert public.json()["principal"] == "rejected: missing identity"


async def test_public_route_ignores_bad_credentials(gw: Harness) -> None:
    expired = gw.stack.key.token(exp=int(time.time()) - 3600, iat=0, nbf=0)
    r = await gw.client.post("/api/v1/auth/refresh", json={"refresh_token": "r"},
                             headers={"authorization": f"Bearer {expired}"})
    assert r.status_code == 200
    assert r.json()["service"] == "users"
    assert r.json()["principal"] == "rejected: missing identity"
    good = await gw.client.post("/api/v1/auth/logout", headers=gw.bearer())
    assert good.json()["principal"]["subject"] == "user:u-alice"


async def test_revoked_session_is_refused_until_expiry(gw: Harness) -> None:
    headers = gw.bearer(sid="s-revoke-me")
    assert (await gw.client.get("/api/v1/orders", headers=headers)).status_code == 200
    await gw.parts.events.subscribed.wait()
    await gw.parts.runtime.bus.publish_json(USERS_EVENTS["session_revoked"],
                                            {"sid": "s-revoke-me", "user_id": "u-alice"})
    for _ in range(100):
        r = await gw.client.get("/api/v1/orders", headers=headers)
        if r.status_code == 401:
            break
        await asyncio.sleep(0.01)
    assert r.status_code == 401
    assert "session revoked" in r.json()["error"]["message"]
    # remembered in the shared cache, not only in this process's memory
    assert await gw.parts.runtime.cache.get("revoked:sid:s-revoke-me") is not None  # type: ignore[union-attr]
    assert (await gw.client.get("/api/v1/orders", headers=gw.bearer(sid="s-other"))
            ).status_code == 200


async def test_key_rotation_is_picked_up_and_unknown_kids_cannot_flood_jwks(
    make_gateway: object,
) -> None:
    async with make_gateway(jwks_min_refresh_s=30) as gw:  # type: ignore[operator]
        assert (await gw.client.get("/api/v1/orders", headers=gw.bearer())).status_code == 200
        fetches = gw.parts.jwks.fetches
        for _ in range(5):  # random key ids: at most one refetch per min_refresh_s
            r = await gw.client.get("/api/v1/orders",
                                    headers={"authorization": f"Bearer {SigningKey().token()}"})
            assert r.status_code == 401
        assert gw.parts.jwks.fetches - fetches <= 1
    rotated = SigningKey()
    gw.stack.users.keys.append(rotated)
    try:
        async with make_gateway(jwks_min_refresh_s=0) as gw:  # type: ignore[operator]
            old = await gw.client.get("/api/v1/orders", headers=gw.bearer())
            gw.stack.users.keys.append(newest := SigningKey())
            new = await gw.client.get("/api/v1/orders",
                                      headers={"authorization": f"Bearer {newest.token()}"})
            assert (old.status_code, new.status_code) == (200, 200)
    finally:
        gw.stack.users.keys[:] = [gw.stack.key]
