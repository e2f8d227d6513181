"""Access-token signing keys (Ed25519) and the JWKS that publishes them.

The first instance to start generates a key; every key is stored sealed by the vault in the
database, so all instances sign with the same key and verify the same set. Rotation makes a
new key current and keeps the old one in the JWKS until every token it signed has expired
(access TTL + key cache + leeway), so nobody is logged out by a rotation.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.contracts.v1.identity import AccessClaims
from argosy.kernel.clock import Clock
from argosy.kernel.ids import new_ulid
from argosy.platform.db.engine import Database
from argosy.services.users.models import SigningKeyRow
from argosy.services.users.vault import Vault

__all__ = ["SigningKey", "SigningKeys", "public_jwk"]

_LEEWAY_S = 60
_LOCK_KEY = 0x55534B  # "USK": one key generation at a time across PostgreSQL instances


def public_jwk(kid: str, key: Ed25519PrivateKey) -> dict[str, Any]:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey

    def sign(self, claims: AccessClaims) -> str:
        return jwt.encode(claims.model_dump(), self.private, algorithm="EdDSA",
                          headers={"kid": self.kid, "typ": "JWT"})


class SigningKeys:
    def __init__(self, db: Database, vault: Vault, clock: Clock, *, access_ttl_s: int,
                 cache_s: float) -> None:
        self._db, self._vault, self._clock = db, vault, clock
        # another instance may sign with the old key until its cache expires
        self._retire_ns = int((access_ttl_s + cache_s + _LEEWAY_S) * 1_000_000_000)
        self._cache_s = cache_s
        self._cached: tuple[float, SigningKey] | None = None

    async def current(self) -> SigningKey:
        """The key new tokens are signed with (created on first use)."""
        if self._cached and time.monotonic() - self._cached[0] < self._cache_s:
            return self._cached[1]
        async with self._db.read() as s:
            row = await self._current_row(s)
        if row is None:
            async with self._db.transaction() as s:
                await self._lock(s)
                row = await self._current_row(s) or self._new_row(s)
        key = SigningKey(row.kid, self._private(row))
        self._cached = (time.monotonic(), key)
        return key

    async def rotate(self, s: AsyncSession) -> tuple[str, str | None]:
        """In the caller's transaction: (new kid, previous kid)."""
        await self._lock(s)
        old = await self._current_row(s)
        now = self._clock.now_ns()
        if old is not None:
            old.retired_ns, old.unpublish_ns = now, now + self._retire_ns
        row = self._new_row(s)
        self._cached = None
        return row.kid, old.kid if old else None

    async def jwks(self) -> dict[str, Any]:
        await self.current()  # never an empty set, even asked before the first login
        now = self._clock.now_ns()
        async with self._db.read() as s:
            rows = (await s.scalars(select(SigningKeyRow).order_by(
                SigningKeyRow.created_ns.desc()))).all()
        return {"keys": [r.public_jwk for r in rows
                         if r.unpublish_ns is None or r.unpublish_ns > now]}

    # -- internals -----------------------------------------------------------------------
    async def _lock(self, s: AsyncSession) -> None:
        if self._db.kind == "postgresql":
            await s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})

    @staticmethod
    async def _current_row(s: AsyncSession) -> SigningKeyRow | None:
        q = (select(SigningKeyRow).where(SigningKeyRow.retired_ns.is_(None))
             .order_by(SigningKeyRow.created_ns.desc()).limit(1))
        return (await s.scalars(q)).first()

    def _new_row(self, s: AsyncSession) -> SigningKeyRow:
        key = Ed25519PrivateKey.generate()
        kid = f"k{new_ulid().lower()}"
        raw = key.private_bytes_raw()
        row = SigningKeyRow(
            kid=kid, private_sealed=self._vault.seal(raw, f"signing_key:{kid}"),
            public_jwk=public_jwk(kid, key), created_ns=self._clock.now_ns(),
        )
        s.add(row)
        return row

    def _private(self, row: SigningKeyRow) -> Ed25519PrivateKey:
        raw = self._vault.open(row.private_sealed, f"signing_key:{row.kid}")
        return Ed25519PrivateKey.from_private_bytes(raw)
