"""Redis cache: state shared by every replica of every service.

The token bucket and the expiring counter are Lua scripts, so each runs atomically in
Redis however many processes call it; the bucket reads Redis' clock (TIME), so replicas
with drifting clocks still agree.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast
from urllib.parse import urlsplit

import redis.asyncio as aioredis
import structlog
from redis import exceptions as rexc

from argosy.kernel.errors import Invalid, Unavailable
from argosy.platform.cache.base import Cache, TokenGrant

__all__ = ["RedisCache"]

log = structlog.get_logger("argosy.cache.redis")

# KEYS[1]: bucket. ARGV: rate (tokens/s), burst, cost. Returns {allowed, remaining, retry}.
# Seconds and microseconds are stored apart: one double cannot hold both exactly.
_TAKE_TOKENS = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = redis.call('TIME')
local state = redis.call('HMGET', KEYS[1], 'tokens', 'sec', 'usec')
local tokens = burst
if state[1] then
  local elapsed = (tonumber(now[1]) - tonumber(state[2]))
    + (tonumber(now[2]) - tonumber(state[3])) / 1000000
  if elapsed < 0 then elapsed = 0 end
  tokens = math.min(burst, tonumber(state[1]) + elapsed * rate)
end
if tokens < cost then
  return {0, string.format('%.17g', tokens), string.format('%.17g', (cost - tokens) / rate)}
end
tokens = tokens - cost
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),
  'sec', now[1], 'usec', now[2])
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1)
return {1, string.format('%.17g', tokens), '0'}
"""

# KEYS[1]: counter. ARGV: amount, ttl in ms or ''. Expiry only when the key has none.
_INCR = """
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if ARGV[2] ~= '' and redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
"""


class RedisCache(Cache):
    kind = "redis"

    def __init__(
        self,
        url: str,
        *,
        namespace: str,
        connect_timeout: float = 5.0,
        timeout: float = 5.0,
    ) -> None:
        super().__init__(namespace=namespace)
        self._url = url  # may hold a password: never logged
        self._connect_timeout = connect_timeout
        self._timeout = timeout
        self._redis: aioredis.Redis | None = None
        self._take: Any = None
        self._incr_script: Any = None

    @property
    def address(self) -> str:
        """host:port/db, safe to log."""
        parts = urlsplit(self._url)
        return f"{parts.hostname}:{parts.port or 6379}{parts.path or '/0'}"

    async def connect(self) -> None:
        if self._redis is not None:
            return
        client = aioredis.Redis.from_url(
            self._url,
            socket_connect_timeout=self._connect_timeout,
            socket_timeout=self._timeout,
            health_check_interval=30,
        )
        try:
            with _translate(self.address):
                await client.ping()
        except Unavailable:
            await client.aclose()
            raise
        self._redis = client
        self._take = client.register_script(_TAKE_TOKENS)
        self._incr_script = client.register_script(_INCR)
        log.info("cache.connected", kind=self.kind, address=self.address)

    async def close(self) -> None:
        if self._redis is not None:
            client, self._redis = self._redis, None
            await client.aclose()

    async def check(self) -> None:
        with _translate(self.address):
            await self._client().ping()

    async def _get(self, key: str) -> bytes | None:
        with _translate(self.address):
            value = await self._client().get(key)
        return cast("bytes | None", value)  # decode_responses is off: always bytes

    async def _set(self, key: str, value: bytes, ttl: float | None) -> None:
        with _translate(self.address):
            await self._client().set(key, value, px=_ms(ttl))

    async def _delete(self, key: str) -> bool:
        with _translate(self.address):
            removed: int = await self._client().delete(key)
        return removed > 0

    async def _incr(self, key: str, amount: int, ttl: float | None) -> int:
        self._client()
        ms = _ms(ttl)
        with _translate(self.address):
            value = await self._incr_script(keys=[key], args=[amount, "" if ms is None else ms])
        return int(value)

    async def _take_tokens(self, key: str, rate: float, burst: float, cost: float) -> TokenGrant:
        self._client()
        with _translate(self.address):
            allowed, remaining, retry = await self._take(
                keys=[key], args=[repr(rate), repr(burst), repr(cost)]
            )
        return TokenGrant(
            allowed=bool(allowed), remaining=float(remaining), retry_after=float(retry)
        )

    def _client(self) -> aioredis.Redis:
        if self._redis is None:
            raise Unavailable("redis cache is not connected", dependency="cache")
        return self._redis


def _ms(ttl: float | None) -> int | None:
    # Round up: a ttl never ends early, and a tiny positive ttl never becomes 0 (an error).
    return None if ttl is None else max(1, math.ceil(ttl * 1000))


@contextmanager
def _translate(address: str) -> Iterator[None]:
    """Turn redis-py errors into the platform's: wrong value kind -> Invalid, else Unavailable."""
    try:
        yield
    except rexc.ResponseError as exc:
        text = str(exc)
        if text.startswith("WRONGTYPE"):
            raise Invalid("cache key holds another kind of value", field="key") from exc
        if "not an integer" in text:
            raise Invalid("cache value is not an integer", field="key") from exc
        raise Unavailable(f"redis at {address} failed: {text}", dependency="cache") from exc
    except (rexc.RedisError, OSError) as exc:
        raise Unavailable(
            f"redis at {address} unavailable: {type(exc).__name__}: {exc}", dependency="cache"
        ) from exc
