"""Cache: one interface, two backends (in-process memory, Redis), chosen by URL."""

from argosy.platform.cache.base import Cache, TokenGrant
from argosy.platform.cache.factory import CACHE_SCHEMES, create_cache

__all__ = ["CACHE_SCHEMES", "Cache", "TokenGrant", "create_cache"]
