"""create_cache picks the backend from the URL and names the setting when it cannot."""

from __future__ import annotations

import pytest

from argosy.kernel.errors import ConfigurationError
from argosy.platform.cache import create_cache
from argosy.platform.cache.memory import MemoryCache
from argosy.platform.cache.redis import RedisCache


def test_memory() -> None:
    cache = create_cache("memory://", namespace="argosy:dev:gateway:")
    assert isinstance(cache, MemoryCache)
    assert cache.kind == "memory"
    assert cache.namespace == "argosy:dev:gateway:"


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/0", "redis://cache", "rediss://:pw@cache.example:6380/2"]
)
def test_redis(url: str) -> None:
    cache = create_cache(url, namespace="argosy:dev:gateway:")
    assert isinstance(cache, RedisCache)
    assert "pw" not in cache.address


@pytest.mark.parametrize(
    "url",
    ["memcached://host", "http://x", "", "redis:///0", "redis://host/zero", "redis://host:port/0"],
)
def test_bad_urls_name_the_setting(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        create_cache(url, namespace="argosy:dev:gateway:")
    assert info.value.setting == "ARGOSY_CACHE_URL"
