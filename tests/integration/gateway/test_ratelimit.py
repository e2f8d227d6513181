"""Rate limits per IP, identity and route; live changes; shared across instances on Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from tests.integration.gateway.conftest import GatewayFactory, Harness


async def statuses(gw: Harness, n: int, path: str = "/api/v1/orders", **claims: object
                   ) -> list[int]:
    return [(await gw.client.get(path, headers=gw.bearer(**claims))).status_code
            for _ in range(n)]


async def test_per_ip_limit_with_retry_after(gw: Harness) -> None:
    await gw.configure("settings", {"rate_ip_per_s": 0.5, "rate_ip_burst": 3})
    assert await statuses(gw, 3) == [200, 200, 200]
    r = await gw.client.get("/api/v1/orders", headers=gw.bearer(sub="someone-else"))
    assert r.status_code == 429
    assert r.headers["retry-after"] == "2"  # one token at 0.5/s
    assert r.json()["error"]["details"] == {"scope": "ip"}
    assert r.json()["error"]["code"] == "rate_limited"


async def test_per_identity_and_per_route_limits(gw: Harness) -> None:
    await gw.configure("settings", {"rate_identity_per_s": 0.1, "rate_identity_burst": 2})
    await gw.configure("routes", {"routes": [{"prefix": "/api/v1/fills", "rate": 0.1,
                                              "burst": 3}]})
    assert await statuses(gw, 3, sub="u-1") == [200, 200, 429]
    assert await statuses(gw, 2, sub="u-2") == [200, 200]  # another user has its own bucket
    r = await gw.client.get("/api/v1/orders", headers=gw.bearer(sub="u-1"))
    assert r.json()["error"]["details"] == {"scope": "identity"}
    fills = [(await gw.client.get("/api/v1/fills", headers=gw.bearer(sub=f"f-{i}"))).status_code
             for i in range(4)]
    assert fills == [200, 200, 200, 429]  # the route's bucket is everyone's
    r = await gw.client.get("/api/v1/fills", headers=gw.bearer(sub="f-9"))
    assert r.json()["error"]["details"] == {"scope": "route"}


async def test_live_change_through_the_gateway_itself(gw: Harness) -> None:
    """An admin writes the gateway's settings through the gateway (config route), the
    config service accepts the identity the gateway minted, the new limit applies live."""
    admin = gw.bearer(sub="u-admin", roles=["admin"], perms=["config:read", "config:write"])
    gw.written.add("settings")
    r = await gw.client.put("/api/v1/config/documents/gateway/settings", headers=admin,
                            json={"content": {"rate_identity_per_s": 0.01,
                                              "rate_identity_burst": 2}, "comment": "incident"})
    assert r.status_code in (200, 201), r.text
    assert r.json()["author"] == "user:u-admin"
    await gw.parts.runtime.live.sync()
    assert await statuses(gw, 3, sub="u-live") == [200, 200, 429]
    r = await gw.client.put("/api/v1/config/documents/gateway/settings", headers=admin,
                            json={"content": {"rate_identity_per_s": 1000,
                                              "rate_identity_burst": 50}})
    assert r.status_code == 200, r.text
    await gw.parts.runtime.live.sync()
    await asyncio.sleep(0.01)  # the emptied bucket refills at the new rate
    assert await statuses(gw, 3, sub="u-live") == [200, 200, 200]
    viewer = gw.bearer(sub="u-view", perms=["config:read"])
    denied = await gw.client.put("/api/v1/config/documents/gateway/settings", headers=viewer,
                                 json={"content": {"rate_limits": False}})
    assert denied.status_code == 403  # refused at the gateway: config:write required


async def test_two_instances_share_buckets_on_redis(
    make_gateway: GatewayFactory, redis_url: str, redis_cleanup: Callable[[str], None],
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"
    async with make_gateway(data_dir=shared, cache_url=redis_url) as one, \
            make_gateway(data_dir=shared, cache_url=redis_url) as two:
        assert one.parts.runtime.cache is not None
        redis_cleanup(one.parts.runtime.cache.namespace)
        await one.configure("settings", {"rate_identity_per_s": 0.01, "rate_identity_burst": 4})
        await two.parts.runtime.live.sync()
        results = []
        for i in range(6):
            gw = one if i % 2 == 0 else two
            results.append((await gw.client.get("/api/v1/orders",
                                                headers=gw.bearer(sub="u-shared"))).status_code)
        assert results == [200, 200, 200, 200, 429, 429]
        async with make_gateway(data_dir=tmp_path / "other", cache_url=redis_url) as other:
            assert other.parts.runtime.cache is not None
            redis_cleanup(other.parts.runtime.cache.namespace)
            await other.parts.runtime.live.sync()
            # another data dir is another namespace: nothing shared
            assert await statuses(other, 4, sub="u-shared") == [200] * 4


async def test_concurrent_connections_per_ip_are_capped(make_gateway: GatewayFactory) -> None:
    async with make_gateway(max_connections_per_ip=1) as gw:
        slow = asyncio.create_task(gw.client.get("/api/v1/orders/slow?s=0.4",
                                                 headers=gw.bearer()))
        await asyncio.sleep(0.1)
        r = await gw.client.get("/api/v1/orders", headers=gw.bearer())
        assert r.status_code == 429
        assert r.json()["error"]["details"] == {"scope": "connections"}
        assert (await slow).status_code == 200
        assert (await gw.client.get("/api/v1/orders", headers=gw.bearer())).status_code == 200
