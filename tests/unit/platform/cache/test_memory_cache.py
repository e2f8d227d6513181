"""MemoryCache with a hand-driven clock: expiry, counters and token-bucket arithmetic."""

from __future__ import annotations

import math

import pytest

from argosy.kernel.errors import Invalid, Unavailable
from argosy.platform.cache import TokenGrant
from argosy.platform.cache.memory import MemoryCache


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def cache(clock: FakeClock) -> MemoryCache:
    c = MemoryCache(namespace="argosy:test:unit", clock=clock)
    await c.connect()
    return c


async def test_value_expires_exactly_at_ttl(cache: MemoryCache, clock: FakeClock) -> None:
    await cache.set("k", b"v", ttl=10)
    clock.advance(9.999)
    assert await cache.get("k") == b"v"
    clock.advance(0.001)
    assert await cache.get("k") is None
    assert await cache.delete("k") is False


async def test_set_without_ttl_clears_previous_expiry(cache: MemoryCache, clock: FakeClock) -> None:
    await cache.set("k", b"1", ttl=1)
    await cache.set("k", b"2")
    clock.advance(3600)
    assert await cache.get("k") == b"2"


async def test_incr_sets_ttl_once_for_a_fixed_window(cache: MemoryCache, clock: FakeClock) -> None:
    assert await cache.incr("hits", ttl=60) == 1
    clock.advance(59)
    assert await cache.incr("hits", 5, ttl=60) == 6  # does not extend the window
    clock.advance(1)
    assert await cache.get("hits") is None
    assert await cache.incr("hits", ttl=60) == 1


async def test_incr_adds_expiry_to_a_key_without_one(cache: MemoryCache, clock: FakeClock) -> None:
    await cache.set("n", b"41")
    assert await cache.incr("n", ttl=5) == 42
    clock.advance(5)
    assert await cache.get("n") is None


async def test_incr_negative_and_non_integer(cache: MemoryCache) -> None:
    assert await cache.incr("n", -3) == -3
    await cache.set("s", b"abc")
    with pytest.raises(Invalid):
        await cache.incr("s")


async def test_bucket_starts_full_and_spends_burst(cache: MemoryCache) -> None:
    grants = [await cache.take_tokens("ip:1", rate=2, burst=4) for _ in range(5)]
    assert [g.allowed for g in grants] == [True, True, True, True, False]
    assert [g.remaining for g in grants[:4]] == [3, 2, 1, 0]
    assert grants[4] == TokenGrant(allowed=False, remaining=0.0, retry_after=0.5)


async def test_bucket_refills_at_rate_and_retry_after_is_exact(
    cache: MemoryCache, clock: FakeClock
) -> None:
    for _ in range(4):
        await cache.take_tokens("b", rate=2, burst=4)
    clock.advance(0.25)
    denied = await cache.take_tokens("b", rate=2, burst=4)
    assert not denied.allowed
    assert denied.remaining == pytest.approx(0.5)
    assert denied.retry_after == pytest.approx(0.25)
    clock.advance(denied.retry_after)
    granted = await cache.take_tokens("b", rate=2, burst=4)
    assert granted.allowed
    assert granted.remaining == pytest.approx(0.0)
    assert granted.retry_after == 0.0


async def test_refill_is_capped_at_burst(cache: MemoryCache, clock: FakeClock) -> None:
    await cache.take_tokens("b", rate=10, burst=3)
    clock.advance(3600)
    grant = await cache.take_tokens("b", rate=10, burst=3)
    assert grant.remaining == 2


async def test_refused_take_costs_nothing(cache: MemoryCache, clock: FakeClock) -> None:
    await cache.take_tokens("b", rate=1, burst=5, cost=4)  # 1 left
    refused = await cache.take_tokens("b", rate=1, burst=5, cost=3)
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(2.0)
    assert (await cache.take_tokens("b", rate=1, burst=5, cost=1)).allowed


async def test_fractional_cost(cache: MemoryCache, clock: FakeClock) -> None:
    grant = await cache.take_tokens("b", rate=0.5, burst=1, cost=0.25)
    assert grant.remaining == pytest.approx(0.75)


async def test_bucket_key_is_forgotten_once_full(cache: MemoryCache, clock: FakeClock) -> None:
    await cache.take_tokens("b", rate=2, burst=4)
    clock.advance(2)  # burst / rate: full again, so equal to a fresh bucket
    assert await cache.delete("b") is False


@pytest.mark.parametrize(
    ("rate", "burst", "cost"),
    [(0, 1, 1), (1, 0, 1), (1, 1, 0), (-1, 1, 1), (math.inf, 1, 1), (1, math.nan, 1), (1, 2, 3)],
)
async def test_bucket_rejects_bad_parameters(
    cache: MemoryCache, rate: float, burst: float, cost: float
) -> None:
    with pytest.raises(ValueError, match=r"rate|burst|cost"):
        await cache.take_tokens("b", rate=rate, burst=burst, cost=cost)


async def test_one_key_one_kind(cache: MemoryCache) -> None:
    await cache.take_tokens("b", rate=1, burst=1)
    with pytest.raises(Invalid):
        await cache.get("b")
    with pytest.raises(Invalid):
        await cache.incr("b")
    await cache.set("s", b"x")
    with pytest.raises(Invalid):
        await cache.take_tokens("s", rate=1, burst=1)


async def test_sweep_drops_expired_keys_nobody_reads(clock: FakeClock) -> None:
    cache = MemoryCache(namespace="n", clock=clock)
    await cache.connect()
    for i in range(1000):
        await cache.set(f"k{i}", b"v", ttl=1)
    clock.advance(2)
    for i in range(100):
        await cache.set(f"fresh{i}", b"v")
    assert len(cache._data) == 100


async def test_namespaces_are_prefixes(clock: FakeClock) -> None:
    cache = MemoryCache(namespace="argosy:dev:users", clock=clock)
    assert cache.namespace == "argosy:dev:users:"
    assert cache.full_key("session:1") == "argosy:dev:users:session:1"


@pytest.mark.parametrize("namespace", ["", ":", "a b", "x*", "tab\t"])
def test_bad_namespace_is_refused(namespace: str) -> None:
    with pytest.raises(ValueError, match="namespace"):
        MemoryCache(namespace=namespace)


@pytest.mark.parametrize("key", ["", "new\nline", "x" * 1025])
async def test_bad_keys_are_invalid(cache: MemoryCache, key: str) -> None:
    with pytest.raises(Invalid) as info:
        await cache.get(key)
    assert info.value.field == "key"


async def test_bad_ttl_and_value(cache: MemoryCache) -> None:
    with pytest.raises(ValueError, match="ttl"):
        await cache.set("k", b"v", ttl=0)
    with pytest.raises(TypeError):
        await cache.set("k", "text")  # type: ignore[arg-type]


async def test_json_round_trip(cache: MemoryCache) -> None:
    await cache.set_json("j", {"a": [1, 2.5, "x"], "b": None})
    assert await cache.get_json("j") == {"a": [1, 2.5, "x"], "b": None}
    assert await cache.get_json("missing") is None


async def test_closed_cache_is_unavailable(cache: MemoryCache) -> None:
    await cache.check()
    await cache.close()
    with pytest.raises(Unavailable) as info:
        await cache.check()
    assert info.value.dependency == "cache"
    with pytest.raises(Unavailable):
        await cache.get("k")
