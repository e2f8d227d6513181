"""One behavioural suite, run against MemoryCache and RedisCache alike (see base.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from argosy.kernel.errors import Invalid
from argosy.platform.cache import Cache

pytestmark = pytest.mark.integration


async def test_set_get_delete(cache: Cache) -> None:
    assert await cache.get("k") is None
    await cache.set("k", b"\x00binary\xff")
    assert await cache.get("k") == b"\x00binary\xff"
    assert await cache.delete("k") is True
    assert await cache.delete("k") is False
    assert await cache.get("k") is None


async def test_set_replaces_value(cache: Cache) -> None:
    await cache.set("k", b"1")
    await cache.set("k", b"2")
    assert await cache.get("k") == b"2"


async def test_ttl_expires(cache: Cache) -> None:
    await cache.set("short", b"v", ttl=0.05)
    await cache.set("long", b"v", ttl=30)
    assert await cache.get("short") == b"v"
    await asyncio.sleep(0.1)
    assert await cache.get("short") is None
    assert await cache.get("long") == b"v"


async def test_set_without_ttl_clears_expiry(cache: Cache) -> None:
    await cache.set("k", b"1", ttl=0.05)
    await cache.set("k", b"2")
    await asyncio.sleep(0.1)
    assert await cache.get("k") == b"2"


async def test_incr(cache: Cache) -> None:
    assert await cache.incr("n") == 1
    assert await cache.incr("n", 10) == 11
    assert await cache.incr("n", -12) == -1
    assert await cache.get("n") == b"-1"
    await cache.set("m", b"41")
    assert await cache.incr("m") == 42


async def test_incr_ttl_is_a_fixed_window(cache: Cache) -> None:
    assert await cache.incr("w", ttl=0.15) == 1
    await asyncio.sleep(0.08)
    assert await cache.incr("w", ttl=0.15) == 2  # not extended
    await asyncio.sleep(0.1)
    assert await cache.get("w") is None
    assert await cache.incr("w") == 1


async def test_incr_refuses_non_integers(cache: Cache) -> None:
    await cache.set("s", b"1.5")
    with pytest.raises(Invalid) as info:
        await cache.incr("s")
    assert info.value.field == "key"


async def test_json(cache: Cache) -> None:
    await cache.set_json("j", {"price": "101.5", "levels": [1, 2]}, ttl=10)
    assert await cache.get_json("j") == {"price": "101.5", "levels": [1, 2]}
    assert await cache.get_json("absent") is None


async def test_token_bucket_spends_burst_then_refuses(cache: Cache) -> None:
    rate, burst = 0.001, 3  # refills one token in 1000 s: nothing refills during the test
    grants = [await cache.take_tokens("tb", rate=rate, burst=burst) for _ in range(4)]
    assert [g.allowed for g in grants] == [True, True, True, False]
    assert grants[0].remaining == pytest.approx(2, abs=1e-3)
    assert grants[2].remaining == pytest.approx(0, abs=1e-3)
    assert grants[3].retry_after == pytest.approx(1000, rel=1e-3)
    assert grants[0].retry_after == 0.0


async def test_token_bucket_refills(cache: Cache) -> None:
    assert (await cache.take_tokens("tb", rate=20, burst=1)).allowed
    refused = await cache.take_tokens("tb", rate=20, burst=1)
    assert not refused.allowed
    assert 0 < refused.retry_after <= 0.05
    await asyncio.sleep(refused.retry_after + 0.01)
    assert (await cache.take_tokens("tb", rate=20, burst=1)).allowed


async def test_token_bucket_costs(cache: Cache) -> None:
    assert (await cache.take_tokens("tb", rate=0.001, burst=10, cost=7.5)).allowed
    refused = await cache.take_tokens("tb", rate=0.001, burst=10, cost=3)
    assert not refused.allowed
    assert refused.remaining == pytest.approx(2.5, abs=1e-3)
    assert (await cache.take_tokens("tb", rate=0.001, burst=10, cost=2.5)).allowed


async def test_buckets_are_independent(cache: Cache) -> None:
    assert (await cache.take_tokens("ip:1", rate=0.001, burst=1)).allowed
    assert not (await cache.take_tokens("ip:1", rate=0.001, burst=1)).allowed
    assert (await cache.take_tokens("ip:2", rate=0.001, burst=1)).allowed


async def test_one_key_holds_one_kind(cache: Cache) -> None:
    await cache.take_tokens("tb", rate=1, burst=1)
    with pytest.raises(Invalid):
        await cache.get("tb")
    with pytest.raises(Invalid):
        await cache.incr("tb")
    await cache.set("s", b"x")
    with pytest.raises(Invalid):
        await cache.take_tokens("s", rate=1, burst=1)
    await cache.set("tb", b"now bytes")  # set replaces whatever was there
    assert await cache.get("tb") == b"now bytes"


async def test_namespaces_do_not_share_state(
    cache: Cache, make_cache: Callable[..., Cache], namespace: str
) -> None:
    other = make_cache(namespace + "other:")
    await other.connect()
    await cache.set("k", b"mine")
    await cache.take_tokens("tb", rate=0.001, burst=1)
    assert await other.get("k") is None
    assert (await other.take_tokens("tb", rate=0.001, burst=1)).allowed


async def test_check_passes_when_connected(cache: Cache) -> None:
    await cache.check()
