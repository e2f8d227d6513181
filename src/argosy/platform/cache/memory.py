"""In-process cache for a single process and for tests.

Same semantics as Redis (see base.py) within one event loop: every operation runs without
awaiting, so it is atomic. The clock is injectable so tests can move time by hand.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from argosy.kernel.errors import Invalid, Unavailable
from argosy.platform.cache.base import Cache, TokenGrant

__all__ = ["MemoryCache"]

# Expired entries are dropped when read, and all of them every this many writes,
# so keys written once and never read again (rate limits per client) do not pile up.
_SWEEP_EVERY = 1024


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


@dataclass(slots=True)
class _Entry:
    value: bytes | _Bucket
    expires_at: float | None


class MemoryCache(Cache):
    kind = "memory"

    def __init__(self, *, namespace: str, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(namespace=namespace)
        self._clock = clock
        self._data: dict[str, _Entry] = {}
        self._writes = 0
        self._open = False

    async def connect(self) -> None:
        self._open = True

    async def close(self) -> None:
        self._open = False

    async def check(self) -> None:
        if not self._open:
            raise Unavailable("memory cache is closed", dependency="cache")

    async def _get(self, key: str) -> bytes | None:
        entry = self._live(key)
        if entry is None:
            return None
        if isinstance(entry.value, _Bucket):
            raise _wrong_kind(key)
        return entry.value

    async def _set(self, key: str, value: bytes, ttl: float | None) -> None:
        self._live(key)
        self._store(key, _Entry(value, self._expiry(ttl)))

    async def _delete(self, key: str) -> bool:
        existed = self._live(key) is not None
        self._data.pop(key, None)
        return existed

    async def _incr(self, key: str, amount: int, ttl: float | None) -> int:
        entry = self._live(key)
        if entry is None:
            entry = _Entry(b"0", None)
        if isinstance(entry.value, _Bucket):
            raise _wrong_kind(key)
        try:
            value = int(entry.value) + amount
        except ValueError:
            raise Invalid("cache value is not an integer", field="key") from None
        expires_at = entry.expires_at if entry.expires_at is not None else self._expiry(ttl)
        self._store(key, _Entry(str(value).encode(), expires_at))
        return value

    async def _take_tokens(self, key: str, rate: float, burst: float, cost: float) -> TokenGrant:
        now = self._clock()
        entry = self._live(key)
        if entry is None:
            tokens = burst
        elif isinstance(entry.value, _Bucket):
            elapsed = max(0.0, now - entry.value.stamp)
            tokens = min(burst, entry.value.tokens + elapsed * rate)
        else:
            raise _wrong_kind(key)
        if tokens < cost:
            return TokenGrant(allowed=False, remaining=tokens, retry_after=(cost - tokens) / rate)
        tokens -= cost
        # Once full again the bucket equals a fresh one, so it can be forgotten.
        self._store(key, _Entry(_Bucket(tokens, now), now + burst / rate))
        return TokenGrant(allowed=True, remaining=tokens, retry_after=0.0)

    def _live(self, key: str) -> _Entry | None:
        if not self._open:
            raise Unavailable("memory cache is not connected", dependency="cache")
        entry = self._data.get(key)
        if entry is not None and entry.expires_at is not None and self._clock() >= entry.expires_at:
            del self._data[key]
            return None
        return entry

    def _expiry(self, ttl: float | None) -> float | None:
        return None if ttl is None else self._clock() + ttl

    def _store(self, key: str, entry: _Entry) -> None:
        self._data[key] = entry
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            now = self._clock()
            for k in [k for k, e in self._data.items() if e.expires_at is not None
                      and now >= e.expires_at]:
                del self._data[k]


def _wrong_kind(key: str) -> Invalid:
    return Invalid(f"cache key {key!r} holds another kind of value", field="key")
