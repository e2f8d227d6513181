"""The cache interface every backend implements, and the rules they all share.

Why one interface: a laptop runs one process on `MemoryCache`; a deployment with replicas
shares counters and rate limits through Redis. One behavioural test suite runs on both.

Semantics (the same on every backend):
- Every key is prefixed by the namespace given at construction (`argosy:<instance>:<service>:`),
  so two platforms, or two services, sharing one Redis never see each other's state.
- A cache may forget anything at any time (eviction, restart): never keep the only copy here.
- `ttl` is in seconds; `None` keeps the key until it is deleted, overwritten or evicted.
- Each key holds one kind of value: bytes/counters (`get`, `set`, `incr`) or a token bucket
  (`take_tokens`). Using a key as the other kind raises `Invalid(field="key")`.
- The cache must be connected before use; otherwise calls raise `Unavailable`.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from typing import Any

import orjson

from argosy.kernel.errors import Invalid
from argosy.platform.lifecycle import Connectable

__all__ = ["MAX_KEY_LENGTH", "Cache", "TokenGrant"]

MAX_KEY_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """The answer of a token bucket: may the caller proceed, and if not, when to retry."""

    allowed: bool
    remaining: float  # tokens left in the bucket after this call
    retry_after: float  # seconds until `cost` tokens will be available; 0.0 when allowed


class Cache(Connectable):
    """Short-lived shared state: memoised reads, counters and rate limits."""

    #: short name for logs, metrics and /readyz ("memory", "redis")
    kind: str = "cache"

    def __init__(self, *, namespace: str) -> None:
        self.namespace = _normalise_namespace(namespace)

    # Implementations receive namespaced keys and validated arguments.

    @abc.abstractmethod
    async def _get(self, key: str) -> bytes | None: ...

    @abc.abstractmethod
    async def _set(self, key: str, value: bytes, ttl: float | None) -> None: ...

    @abc.abstractmethod
    async def _delete(self, key: str) -> bool: ...

    @abc.abstractmethod
    async def _incr(self, key: str, amount: int, ttl: float | None) -> int: ...

    @abc.abstractmethod
    async def _take_tokens(self, key: str, rate: float, burst: float, cost: float) -> TokenGrant:
        ...

    async def get(self, key: str) -> bytes | None:
        """The stored bytes, or None when the key is absent or expired."""
        return await self._get(self.full_key(key))

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store `value`, replacing any previous value and expiry."""
        if not isinstance(value, bytes):
            raise TypeError(f"cache values are bytes, got {type(value).__name__}")
        await self._set(self.full_key(key), value, _check_ttl(ttl))

    async def delete(self, key: str) -> bool:
        """Remove the key; True when it existed."""
        return await self._delete(self.full_key(key))

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        """Add `amount` to an integer counter (absent counts as 0) and return the new value.

        `ttl` is applied only when the counter has no expiry yet, so a fixed window
        (`incr("logins:alice", ttl=60)`) is not extended by later increments.
        """
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise TypeError("amount must be an int")
        return await self._incr(self.full_key(key), amount, _check_ttl(ttl))

    async def get_json(self, key: str) -> Any:
        """The decoded JSON value, or None when the key is absent."""
        raw = await self.get(key)
        return None if raw is None else orjson.loads(raw)

    async def set_json(self, key: str, value: Any, ttl: float | None = None) -> None:
        await self.set(key, orjson.dumps(value), ttl)

    async def take_tokens(
        self, key: str, *, rate: float, burst: float, cost: float = 1.0
    ) -> TokenGrant:
        """Take `cost` tokens from a bucket refilled at `rate` per second up to `burst`.

        Atomic across every process sharing the backend. A new bucket starts full; a
        refused call takes nothing, so the caller may retry after `retry_after` seconds.
        """
        for name, val in (("rate", rate), ("burst", burst), ("cost", cost)):
            if not (isinstance(val, int | float) and math.isfinite(val) and val > 0):
                raise ValueError(f"{name} must be a positive finite number, got {val!r}")
        if cost > burst:
            raise ValueError(f"cost {cost} can never be granted by a bucket of burst {burst}")
        return await self._take_tokens(self.full_key(key), float(rate), float(burst), float(cost))

    def full_key(self, key: str) -> str:
        """The namespaced key as stored in the backend."""
        if not isinstance(key, str) or not key:
            raise Invalid("cache key must be a non-empty string", field="key")
        if len(key) > MAX_KEY_LENGTH:
            raise Invalid(f"cache key longer than {MAX_KEY_LENGTH} characters", field="key")
        if not key.isprintable():
            raise Invalid("cache key contains control characters", field="key")
        return self.namespace + key


def _normalise_namespace(namespace: str) -> str:
    if not isinstance(namespace, str) or not namespace.strip(":"):
        raise ValueError("cache namespace must be a non-empty string such as 'argosy:dev:users:'")
    if not namespace.isprintable() or any(c in namespace for c in " *?[]"):
        raise ValueError(f"cache namespace {namespace!r} has spaces, glob or control characters")
    return namespace if namespace.endswith(":") else namespace + ":"


def _check_ttl(ttl: float | None) -> float | None:
    if ttl is None:
        return None
    if not (isinstance(ttl, int | float) and math.isfinite(ttl) and ttl > 0):
        raise ValueError(f"ttl must be a positive number of seconds or None, got {ttl!r}")
    return float(ttl)
