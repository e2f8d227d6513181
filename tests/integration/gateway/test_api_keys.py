"""Signed API-key requests through the gateway: accepted once, refused when replayed,
late, forged, from the wrong address, expired or revoked."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from argosy.contracts.topics import USERS_EVENTS
from argosy.contracts.v1.identity import ApiKeyGrant, sign_request
from tests.integration.gateway.conftest import GatewayFactory, Harness


def new_key(gw: Harness, **grant: Any) -> ApiKeyGrant:
    key = ApiKeyGrant.model_validate({
        "key_id": f"key_{uuid.uuid4().hex[:12]}", "secret": secrets.token_hex(32),
        "user_id": "u-prog", "org": "org-1", "permissions": ["orders:read", "orders:write"],
        **grant,
    })
    gw.stack.users.grants[key.key_id] = key
    return key


def signed(key: ApiKeyGrant, method: str, path: str, query: str = "", body: bytes = b"",
           *, skew_ms: int = 0, nonce: str | None = None, secret: str | None = None
           ) -> dict[str, str]:
    ts = int(time.time() * 1000) + skew_ms
    nonce = nonce or secrets.token_urlsafe(18)
    sig = sign_request(secret or key.secret, method, path, query, body, ts, nonce)
    return {"x-argosy-key": key.key_id, "x-argosy-timestamp": str(ts),
            "x-argosy-nonce": nonce, "x-argosy-signature": sig}


async def test_signed_request_is_forwarded_as_the_keys_owner(gw: Harness) -> None:
    key = new_key(gw)
    body = json.dumps({"side": "buy", "qty": "0.1"}).encode()
    headers = signed(key, "POST", "/api/v1/orders", "b=2&a=1", body)
    r = await gw.client.post("/api/v1/orders?a=1&b=2", content=body, headers=headers)
    assert r.status_code == 200, r.text
    seen = r.json()
    assert seen["principal"] == {"subject": "user:u-prog",
                                 "permissions": ["orders:read", "orders:write"], "org": "org-1"}
    assert seen["body"] == body.decode()
    assert not any(k.startswith("x-argosy-") and k not in ("x-argosy-identity",
                                                            "x-argosy-source")
                   for k in seen["headers"])
    assert gw.stack.users.grant_callers[-1] == "service:gateway"


async def test_replay_is_refused(gw: Harness) -> None:
    key = new_key(gw)
    headers = signed(key, "GET", "/api/v1/orders")
    assert (await gw.client.get("/api/v1/orders", headers=headers)).status_code == 200
    again = await gw.client.get("/api/v1/orders", headers=headers)
    assert again.status_code == 401
    assert "nonce already used" in again.json()["error"]["message"]
    assert "www-authenticate" in again.headers


@pytest.mark.parametrize("skew_ms", [-6000, 6000, -3_600_000])
async def test_outside_the_window_is_refused(gw: Harness, skew_ms: int) -> None:
    key = new_key(gw)
    r = await gw.client.get("/api/v1/orders", headers=signed(key, "GET", "/api/v1/orders",
                                                             skew_ms=skew_ms))
    assert r.status_code == 401
    assert "window" in r.json()["error"]["message"]
    assert (await gw.client.get("/api/v1/orders", headers=signed(
        key, "GET", "/api/v1/orders", skew_ms=-4000))).status_code == 200


async def test_forged_or_mismatched_signatures_are_refused(gw: Harness) -> None:
    key = new_key(gw)
    cases = [
        ("GET", "/api/v1/orders", signed(key, "GET", "/api/v1/orders", secret="guess")),
        ("GET", "/api/v1/orders?limit=1000", signed(key, "GET", "/api/v1/orders", "limit=1")),
        ("DELETE", "/api/v1/orders/1", signed(key, "GET", "/api/v1/orders/1")),
        ("GET", "/api/v1/fills", signed(key, "GET", "/api/v1/orders")),
    ]
    for method, url, headers in cases:
        r = await gw.client.request(method, url, headers=headers)
        assert r.status_code == 401, (method, url)
    tampered_body = signed(key, "POST", "/api/v1/orders", body=b'{"qty":"1"}')
    r = await gw.client.post("/api/v1/orders", content=b'{"qty":"100"}', headers=tampered_body)
    assert r.status_code == 401


async def test_grant_rules(gw: Harness) -> None:
    elsewhere = new_key(gw, allowed_ips=["10.0.0.0/8"])
    expired = new_key(gw, expires_at_ms=int(time.time() * 1000) - 1)
    local = new_key(gw, allowed_ips=["127.0.0.0/8"], permissions=["orders:read"])
    for key, message in ((elsewhere, "address"), (expired, "expired")):
        r = await gw.client.get("/api/v1/orders", headers=signed(key, "GET", "/api/v1/orders"))
        assert (r.status_code, message in r.json()["error"]["message"]) == (401, True)
    assert (await gw.client.get("/api/v1/orders", headers=signed(
        local, "GET", "/api/v1/orders"))).status_code == 200
    r = await gw.client.post("/api/v1/orders", headers=signed(local, "POST", "/api/v1/orders"))
    assert r.status_code == 403  # the key's scopes, not its owner's
    unknown = ApiKeyGrant(key_id="key_nobody123", secret="x", user_id="u", org="o",
                          permissions=[])
    r = await gw.client.get("/api/v1/orders", headers=signed(unknown, "GET", "/api/v1/orders"))
    assert (r.status_code, r.json()["error"]["message"]) == (401, "unknown API key")


async def test_partial_or_double_credentials_are_refused(gw: Harness) -> None:
    key = new_key(gw)
    headers = signed(key, "GET", "/api/v1/orders")
    del headers["x-argosy-nonce"]
    assert (await gw.client.get("/api/v1/orders", headers=headers)).status_code == 401
    both = {**signed(key, "GET", "/api/v1/orders"), **gw.bearer()}
    r = await gw.client.get("/api/v1/orders", headers=both)
    assert (r.status_code, "not both" in r.json()["error"]["message"]) == (401, True)


async def test_revocation_event_drops_the_cached_grant(gw: Harness) -> None:
    key = new_key(gw)
    assert (await gw.client.get("/api/v1/orders", headers=signed(
        key, "GET", "/api/v1/orders"))).status_code == 200
    fetches = gw.parts.apikeys.fetches
    assert (await gw.client.get("/api/v1/orders", headers=signed(
        key, "GET", "/api/v1/orders"))).status_code == 200
    assert gw.parts.apikeys.fetches == fetches  # served from the grant cache
    del gw.stack.users.grants[key.key_id]
    await gw.parts.events.subscribed.wait()
    await gw.parts.runtime.bus.publish_json(USERS_EVENTS["api_key_revoked"],
                                            {"key_id": key.key_id})
    for _ in range(100):
        r = await gw.client.get("/api/v1/orders", headers=signed(key, "GET", "/api/v1/orders"))
        if r.status_code == 401:
            break
        await asyncio.sleep(0.01)
    assert (r.status_code, r.json()["error"]["message"]) == (401, "unknown API key")


async def test_nonce_is_shared_by_gateway_instances_on_redis(
    make_gateway: GatewayFactory, redis_url: str, redis_cleanup: Callable[[str], None],
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"
    async with make_gateway(data_dir=shared, cache_url=redis_url) as one, \
            make_gateway(data_dir=shared, cache_url=redis_url) as two:
        assert one.parts.runtime.cache is not None
        redis_cleanup(one.parts.runtime.cache.namespace)
        key = new_key(one)
        headers = signed(key, "GET", "/api/v1/orders")
        assert (await one.client.get("/api/v1/orders", headers=headers)).status_code == 200
        replay = await two.client.get("/api/v1/orders", headers=headers)
        assert replay.status_code == 401
        assert "nonce already used" in replay.json()["error"]["message"]
