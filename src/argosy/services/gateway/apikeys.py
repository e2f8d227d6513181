"""Signed API-key requests: the grant from the users service, the signature, the nonce.

Why grants stay in process memory: the contract (ApiKeyGrant) carries the HMAC secret,
which must live only in the gateway's memory, never in a shared cache. Grants are kept
for `grant_ttl_s` and dropped at once on `users.api_key.revoked`; a revocation is final,
so a grant fetched while the event arrived (the users service may have answered just
before revoking) is not kept either. Nonces, on the other
hand, must be shared: a replay sent to another gateway instance is still a replay, so
they go into the cache (Redis in a deployment) with an atomic increment. If that store is
down, signed requests are refused (503) rather than accepted without replay protection.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from urllib.parse import quote

import structlog

from argosy.contracts.v1.identity import ApiKeyGrant
from argosy.kernel.errors import Forbidden, NotFound, Unauthorized, Unavailable
from argosy.platform.auth.internal import Principal
from argosy.platform.cache.base import Cache
from argosy.platform.clients.base import ServiceClient
from argosy.services.gateway.domain.signing import (
    NONCE_TTL_S,
    SignedHeaders,
    check_grant,
    check_window,
    nonce_key,
    signature_matches,
)

__all__ = ["ApiKeys"]

log = structlog.get_logger("argosy.gateway.apikeys")

_UNKNOWN_FOR_S = 5.0  # an unknown key id is not asked about again for this long
_MAX_GRANTS = 10_000


class ApiKeys:
    def __init__(
        self,
        users: ServiceClient,
        cache: Cache | None,
        *,
        grant_ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._users, self._cache = users, cache
        self._ttl, self._clock, self._wall_ms = grant_ttl_s, clock, wall_ms
        self._grants: OrderedDict[str, tuple[ApiKeyGrant | None, float]] = OrderedDict()
        self._revoked: OrderedDict[str, None] = OrderedDict()  # recent revocation events
        self.fetches = 0

    def revoke(self, key_id: str) -> None:
        self._grants.pop(key_id, None)
        self._revoked[key_id] = None
        if len(self._revoked) > _MAX_GRANTS:  # older ones: users answers 404 by now
            self._revoked.popitem(last=False)
        log.info("api_key.dropped", key_id=key_id)

    async def grant(self, key_id: str) -> ApiKeyGrant:
        hit = self._grants.get(key_id)
        if hit is not None and hit[1] > self._clock():
            grant = hit[0]
        else:
            grant = await self._fetch(key_id)
        if grant is None:
            raise Unauthorized("unknown API key")
        return grant

    async def _fetch(self, key_id: str) -> ApiKeyGrant | None:
        self.fetches += 1
        try:
            body = await self._users.get_json(f"/internal/v1/api-keys/{quote(key_id, safe='')}")
            grant: ApiKeyGrant | None = ApiKeyGrant.model_validate(body)
        except NotFound:
            grant = None
        except (Unauthorized, Forbidden) as exc:  # users does not trust us: our problem
            raise Unavailable(f"users refused the gateway: {exc.message}",
                              dependency="users") from None
        if grant is not None and grant.key_id != key_id:
            raise Unavailable("users answered for another API key", dependency="users")
        if key_id in self._revoked:  # revoked while we asked, or since
            grant = None
        ttl = self._ttl if grant is not None else min(self._ttl, _UNKNOWN_FOR_S)
        if ttl > 0:
            self._grants[key_id] = (grant, self._clock() + ttl)
            if len(self._grants) > _MAX_GRANTS:
                self._grants.popitem(last=False)
        return grant

    async def authenticate(
        self, signed: SignedHeaders, *, method: str, paths: Iterable[str], query: str,
        body: bytes, ip: str,
    ) -> Principal:
        now_ms = self._wall_ms()
        check_window(signed.timestamp_ms, now_ms)
        grant = await self.grant(signed.key_id)
        if not signature_matches(grant.secret, signed, method, paths, query, body):
            raise Unauthorized("signature does not match the request")
        check_grant(grant, ip=ip, now_ms=now_ms)
        if self._cache is None:
            raise Unavailable("no nonce store: signed requests are disabled", dependency="cache")
        if await self._cache.incr(nonce_key(signed.key_id, signed.nonce), ttl=NONCE_TTL_S) > 1:
            raise Unauthorized("nonce already used (replayed request)")
        return Principal(f"user:{grant.user_id}", frozenset(grant.permissions), org=grant.org)
