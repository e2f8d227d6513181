"""Pick the cache backend from its URL: memory://, redis://host:port/db, rediss://..."""

from __future__ import annotations

from urllib.parse import urlsplit

from argosy.kernel.errors import ConfigurationError
from argosy.platform.cache.base import Cache

__all__ = ["CACHE_SCHEMES", "create_cache"]

CACHE_SCHEMES = ("memory", "redis", "rediss")

_SETTING = "ARGOSY_CACHE_URL"


def create_cache(url: str, *, namespace: str) -> Cache:
    """A cache for `url` whose keys all start with `namespace` (e.g. `argosy:prod:users:`)."""
    parts = urlsplit(url)
    if parts.scheme == "memory":
        from argosy.platform.cache.memory import MemoryCache

        return MemoryCache(namespace=namespace)
    if parts.scheme in ("redis", "rediss"):
        from argosy.platform.cache.redis import RedisCache

        try:
            host, _ = parts.hostname, parts.port
        except ValueError as exc:  # a port that is not a number
            raise ConfigurationError(_SETTING, f"bad port: {exc}") from None
        if not host:
            raise ConfigurationError(_SETTING, "redis URL needs a host: redis://host:6379/0")
        db = parts.path.strip("/")
        if db and not db.isdigit():
            raise ConfigurationError(_SETTING, f"redis database must be a number, got {db!r}")
        return RedisCache(url, namespace=namespace)
    raise ConfigurationError(
        _SETTING, f"unsupported scheme {parts.scheme!r}; use memory://, redis:// or rediss://"
    )
