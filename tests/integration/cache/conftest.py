"""Caches for the shared behavioural suite: MemoryCache and RedisCache on the local Redis.

Each test gets its own namespace under one per-run root, so runs sharing the Redis never
collide, and every key under it is deleted afterwards. Without Redis the Redis half skips.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
import redis
import redis.asyncio as aioredis

from argosy.platform.cache import Cache, create_cache
from tests.support.servers import REDIS_URL

RUN_ROOT = f"argosy-test:{uuid.uuid4().hex[:12]}:"

MakeCache = Callable[..., Cache]


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The Redis URL, or a skip naming the reason when no Redis answers."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    yield REDIS_URL
    leftovers = list(client.scan_iter(match=RUN_ROOT + "*"))
    if leftovers:
        client.delete(*leftovers)
    client.close()
    assert not leftovers, f"tests left {len(leftovers)} keys in Redis"


@pytest.fixture
def namespace() -> str:
    return f"{RUN_ROOT}{uuid.uuid4().hex[:8]}:"


async def _make_caches(url: str, default_namespace: str) -> AsyncIterator[MakeCache]:
    """Yield a maker of caches on `url`; close them and delete their keys afterwards."""
    made: list[Cache] = []

    def make(space: str | None = None) -> Cache:
        cache = create_cache(url, namespace=space or default_namespace)
        made.append(cache)
        return cache

    yield make
    for cache in made:
        await cache.close()
    if url.startswith("redis"):
        client = aioredis.Redis.from_url(url)
        try:
            for space in {c.namespace for c in made}:
                keys = [k async for k in client.scan_iter(match=space + "*")]
                if keys:
                    await client.delete(*keys)
        finally:
            await client.aclose()


@pytest.fixture
async def make_redis_cache(redis_url: str, namespace: str) -> AsyncIterator[MakeCache]:
    """Build more RedisCaches (connect them yourself); their keys go when the test ends."""
    async for make in _make_caches(redis_url, namespace):
        yield make


@pytest.fixture(params=["memory", "redis"])
async def make_cache(request: pytest.FixtureRequest, namespace: str) -> AsyncIterator[MakeCache]:
    """A cache maker for each backend of the behavioural suite."""
    url = "memory://" if request.param == "memory" else request.getfixturevalue("redis_url")
    async for make in _make_caches(url, namespace):
        yield make


@pytest.fixture
async def cache(make_cache: MakeCache) -> Cache:
    c = make_cache()
    await c.connect()
    return c
