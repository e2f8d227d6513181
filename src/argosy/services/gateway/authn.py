"""Bearer access tokens: the users service's JWKS, verification, revoked sessions, and the
internal identity the gateway mints for upstreams.

Why local verification: a token check on every request must not cost a call to the users
service. Keys are fetched from its `/.well-known/jwks.json`, refreshed periodically and on
an unknown key id (at most once per `min_refresh_s`, so random kids cannot turn the
gateway into a JWKS flood). A revoked session arrives on the bus and is remembered in the
shared cache, so an instance that started after the event still refuses the token.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from argosy.contracts.v1.identity import AccessClaims
from argosy.kernel.errors import ArgosyError, Unauthorized
from argosy.platform.auth.internal import InternalAuth, Principal
from argosy.platform.cache.base import Cache
from argosy.services.gateway.domain.tokens import (
    check_claims,
    check_header,
    parse_jwks,
    split_jws,
    verify_signature,
)

__all__ = ["BearerAuth", "IdentityMinter", "Jwks", "Revocations", "principal_of"]

log = structlog.get_logger("argosy.gateway.authn")

_VERIFIED_CACHE = 20_000
_VERIFIED_FOR_S = 60.0
_MAX_LOCAL_REVOCATIONS = 100_000


class Jwks:
    def __init__(
        self,
        fetch: Callable[[], Awaitable[Any]],
        *,
        refresh_s: float,
        min_refresh_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self.refresh_s, self.min_refresh_s = refresh_s, min_refresh_s
        self._clock = clock
        self.keys: dict[str, Ed25519PublicKey] = {}
        self._raw: dict[str, bytes] = {}
        self._last_attempt = float("-inf")
        self._last_success = float("-inf")
        self._lock = asyncio.Lock()
        self.fetches = 0
        self.on_change: list[Callable[[], None]] = []

    async def key(self, kid: str) -> Ed25519PublicKey | None:
        key = self.keys.get(kid)
        if key is None and self._lock.locked():  # a fetch is under way: wait for it
            async with self._lock:
                key = self.keys.get(kid)
        if key is None and self._may_refresh():
            await self.refresh()
            key = self.keys.get(kid)
        return key

    def _may_refresh(self) -> bool:
        """An unknown kid refetches at most once per `min_refresh_s` after a fetch that
        returned keys, and four times a second while fetches fail or return none (the
        users service starting up: its first tokens must not wait for the timer)."""
        now = self._clock()
        return (now - self._last_success >= self.min_refresh_s
                and now - self._last_attempt >= min(0.25, self.min_refresh_s))

    async def refresh(self) -> bool:
        """Fetch the key set once (concurrent callers share one fetch); False on failure."""
        started = self._clock()
        async with self._lock:
            if self._last_attempt >= started:  # someone refreshed while we waited
                return True
            self._last_attempt = self._clock()
            self.fetches += 1
            try:
                raw = parse_jwks(await self._fetch())
            except (ArgosyError, ValueError, OSError) as exc:
                log.warning("jwks.fetch_failed", error=str(exc))
                return False
            if raw:  # an empty set (a users service that has not made its key yet) is no news
                self._last_success = self._last_attempt
            if raw != self._raw:
                self._raw = raw
                self.keys = {kid: Ed25519PublicKey.from_public_bytes(x) for kid, x in raw.items()}
                log.info("jwks.updated", kids=sorted(raw))
                for listener in self.on_change:
                    listener()
            return True

    async def run(self) -> None:
        """Keep the keys fresh; retry quickly while we have none."""
        delay = 1.0
        while True:
            ok = await self.refresh()
            delay = self.refresh_s if ok and self.keys else min(delay * 2, self.refresh_s)
            await asyncio.sleep(delay)


class Revocations:
    """Session ids revoked before their tokens expire, shared through the cache."""

    def __init__(self, cache: Cache | None, ttl_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._cache, self._ttl_s, self._clock = cache, ttl_s, clock
        self._local: dict[str, float] = {}

    async def revoke(self, sid: str, ttl_s: float | None = None) -> None:
        ttl = ttl_s if ttl_s and ttl_s > 0 else self._ttl_s
        now = self._clock()
        if len(self._local) >= _MAX_LOCAL_REVOCATIONS:  # the cache still has them all
            self._local = {s: t for s, t in self._local.items() if t > now}
            while len(self._local) >= _MAX_LOCAL_REVOCATIONS:
                self._local.pop(next(iter(self._local)))
        self._local[sid] = now + ttl
        if self._cache is not None:
            try:
                await self._cache.set(f"revoked:sid:{sid}", b"1", ttl=ttl)
            except ArgosyError as exc:
                log.warning("revocation.store_failed", error=str(exc))

    async def is_revoked(self, sid: str) -> bool:
        until = self._local.get(sid)
        if until is not None:
            if until > self._clock():
                return True
            del self._local[sid]
        if self._cache is None:
            return False
        try:
            return await self._cache.get(f"revoked:sid:{sid}") is not None
        except ArgosyError as exc:  # tokens are short-lived: do not take the API down
            log.warning("revocation.check_failed", error=str(exc))
            return False


def _ed25519(key: Ed25519PublicKey) -> Callable[[bytes, bytes], bool]:
    def verify(signature: bytes, data: bytes) -> bool:
        try:
            key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    return verify


class BearerAuth:
    """Access token → claims, or Unauthorized naming the reason."""

    def __init__(self, jwks: Jwks, revocations: Revocations, *, leeway_s: float) -> None:
        self.jwks, self.revocations, self.leeway_s = jwks, revocations, leeway_s
        # Verified tokens, so the Ed25519 check runs once per token per minute, not per
        # request; time claims and revocation are still checked on every hit.
        self._verified: OrderedDict[str, tuple[AccessClaims, float]] = OrderedDict()
        jwks.on_change.append(self._verified.clear)

    async def verify(self, token: str) -> AccessClaims:
        now = time.time()
        hit = self._verified.get(token)
        if hit is not None and hit[1] > now:
            claims = hit[0]
            if now >= claims.exp + self.leeway_s:
                raise Unauthorized("token expired")
        else:
            claims = await self._verify_fresh(token, now)
        if await self.revocations.is_revoked(claims.sid):
            raise Unauthorized("session revoked")
        return claims

    async def _verify_fresh(self, token: str, now: float) -> AccessClaims:
        jws = split_jws(token)
        kid = check_header(jws.header)
        key = await self.jwks.key(kid)
        if key is None:
            raise Unauthorized("token signed by an unknown key")
        verify_signature(jws, _ed25519(key))
        claims = check_claims(jws.claims, now, self.leeway_s)
        self._verified[token] = (claims, min(float(claims.exp), now + _VERIFIED_FOR_S))
        if len(self._verified) > _VERIFIED_CACHE:
            self._verified.popitem(last=False)
        return claims


def principal_of(claims: AccessClaims) -> Principal:
    return Principal(
        f"user:{claims.sub}", frozenset(claims.perms), org=claims.org, session=claims.sid
    )


class IdentityMinter:
    """`x-argosy-identity` tokens for verified callers, reused while comfortably valid."""

    def __init__(self, auth: InternalAuth, *, ttl_s: int = 300, reuse_s: float = 240.0,
                 max_entries: int = 20_000) -> None:
        self._auth, self._ttl_s, self._reuse_s = auth, ttl_s, reuse_s
        self._max = max_entries
        self._tokens: OrderedDict[Principal, tuple[str, float]] = OrderedDict()

    def token(self, principal: Principal) -> str:
        now = time.monotonic()
        hit = self._tokens.get(principal)
        if hit is not None and hit[1] > now:
            return hit[0]
        token = self._auth.mint(principal, ttl_s=self._ttl_s)
        self._tokens[principal] = (token, now + self._reuse_s)
        if len(self._tokens) > self._max:
            self._tokens.popitem(last=False)
        return token
