"""The JWKS cache's refresh policy: fast while the users service has no key yet, rate
limited against unknown-kid floods once it has."""

from __future__ import annotations

from typing import Any

from argosy.kernel.errors import Unavailable
from argosy.services.gateway.authn import Jwks
from tests.unit.services.gateway._forge import SigningKey, jwks


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Source:
    """What the users service answers at /.well-known/jwks.json, call by call."""

    def __init__(self) -> None:
        self.answer: Any = {"keys": []}
        self.calls = 0

    async def __call__(self) -> Any:
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


async def test_unknown_kid_floods_cost_one_fetch_per_period() -> None:
    clock, source, key = Clock(), Source(), SigningKey()
    source.answer = jwks(key)
    cache = Jwks(source, refresh_s=300, min_refresh_s=10, clock=clock)
    assert await cache.key(key.kid) is not None
    for _ in range(50):
        assert await cache.key("random-kid") is None
    assert source.calls == 1
    clock.now += 10
    rotated = SigningKey()
    source.answer = jwks(key, rotated)
    assert await cache.key(rotated.kid) is not None  # rotation picked up on demand
    assert source.calls == 2


async def test_no_key_yet_or_users_down_retries_quickly() -> None:
    clock, source, key = Clock(), Source(), SigningKey()
    cache = Jwks(source, refresh_s=300, min_refresh_s=10, clock=clock)
    assert await cache.key(key.kid) is None  # users has made no key yet
    clock.now += 0.1
    assert await cache.key(key.kid) is None
    assert source.calls == 1  # not more than four times a second
    source.answer = Unavailable("users unreachable", dependency="users")
    clock.now += 0.25
    assert await cache.key(key.kid) is None
    source.answer = jwks(key)
    clock.now += 0.25
    assert await cache.key(key.kid) is not None
    assert source.calls == 3


async def test_changed_keys_notify_listeners() -> None:
    clock, source, key = Clock(), Source(), SigningKey()
    source.answer = jwks(key)
    cache = Jwks(source, refresh_s=300, min_refresh_s=0, clock=clock)
    changes: list[int] = []
    cache.on_change.append(lambda: changes.append(1))
    await cache.refresh()
    await cache.refresh()  # same keys: no news
    source.answer = jwks(SigningKey())
    clock.now += 1
    await cache.refresh()
    assert len(changes) == 2
    assert key.kid not in cache.keys  # a retired key stops verifying
