"""What only Redis can show: atomicity across connections, the stored layout, outages."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest
import redis.asyncio as aioredis

from argosy.kernel.errors import Unavailable
from argosy.platform.cache import Cache
from argosy.platform.cache.redis import RedisCache

pytestmark = pytest.mark.integration


async def test_concurrent_takes_never_over_grant(
    make_redis_cache: Callable[..., Cache],
) -> None:
    # Four clients with their own connection pools, five concurrent takes each.
    caches = [make_redis_cache() for _ in range(4)]
    await asyncio.gather(*(c.connect() for c in caches))
    grants = await asyncio.gather(*(
        caches[i % 4].take_tokens("login:alice", rate=0.001, burst=5) for i in range(20)
    ))
    assert sum(g.allowed for g in grants) == 5
    assert all(g.retry_after > 0 for g in grants if not g.allowed)
    assert min(g.remaining for g in grants) >= 0


async def test_concurrent_incr_counts_every_call(make_redis_cache: Callable[..., Cache]) -> None:
    caches = [make_redis_cache() for _ in range(4)]
    await asyncio.gather(*(c.connect() for c in caches))
    values = await asyncio.gather(*(caches[i % 4].incr("n", ttl=30) for i in range(40)))
    assert sorted(values) == list(range(1, 41))


async def test_keys_are_namespaced_and_expire_in_redis(
    make_redis_cache: Callable[..., Cache], redis_url: str, namespace: str
) -> None:
    cache = make_redis_cache()
    await cache.connect()
    await cache.set("k", b"v", ttl=10)
    await cache.incr("n", ttl=5)
    await cache.take_tokens("tb", rate=2, burst=4)
    raw = aioredis.Redis.from_url(redis_url)
    try:
        keys = sorted([k.decode() async for k in raw.scan_iter(match=namespace + "*")])
        assert keys == [namespace + "k", namespace + "n", namespace + "tb"]
        assert 9_000 < await raw.pttl(namespace + "k") <= 10_000
        assert 4_000 < await raw.pttl(namespace + "n") <= 5_000
        assert 0 < await raw.pttl(namespace + "tb") <= 2_001  # forgotten once full
    finally:
        await raw.aclose()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_unreachable_redis_is_unavailable() -> None:
    cache = RedisCache(f"redis://127.0.0.1:{_closed_port()}/0", namespace="argosy-test:down")
    with pytest.raises(Unavailable) as info:
        await cache.connect()
    assert info.value.dependency == "cache"
    with pytest.raises(Unavailable):
        await cache.get("k")


async def test_password_never_in_messages() -> None:
    cache = RedisCache(
        f"redis://:hunter2@127.0.0.1:{_closed_port()}/0", namespace="argosy-test:down"
    )
    with pytest.raises(Unavailable) as info:
        await cache.connect()
    assert "hunter2" not in str(info.value)
    assert "hunter2" not in cache.address


async def test_check_after_close_is_unavailable(make_redis_cache: Callable[..., Cache]) -> None:
    cache = make_redis_cache()
    await cache.connect()
    await cache.check()
    await cache.close()
    with pytest.raises(Unavailable):
        await cache.check()
