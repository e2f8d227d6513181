"""Platform API keys for programs: created with a subset of the owner's permissions, an
optional IP allow-list and an expiry; the secret is shown once and stored sealed, because
the gateway needs it back to check HMAC signatures (`grant`, gateway only)."""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from argosy.contracts.v1.identity import ApiKeyGrant
from argosy.kernel.errors import Forbidden, NotFound
from argosy.kernel.ids import new_id
from argosy.platform.auth.internal import Principal
from argosy.services.users.domain.api_keys import check_cidrs, check_scopes
from argosy.services.users.events import ApiKeyRevoked
from argosy.services.users.models import ApiKeyRow
from argosy.services.users.schemas import ApiKeyCreatedOut, ApiKeyIn, ApiKeyOut
from argosy.services.users.service._context import NS, Caller, Deps, iso, iso_or_none
from argosy.services.users.service._sessions import permissions_of

__all__ = ["ApiKeysService", "revoke_key"]

GATEWAY = "service:gateway"


def _purpose(key_id: str) -> str:
    return f"api_key:{key_id}"


async def revoke_key(d: Deps, s: AsyncSession, row: ApiKeyRow, reason: str, now: int) -> None:
    row.revoked_ns = now
    await d.events.publish(s, ApiKeyRevoked(at_ms=now // 1_000_000, key_id=row.id,
                                            user_id=row.user_id, org=row.org_id, reason=reason))


class ApiKeysService:
    def __init__(self, deps: Deps) -> None:
        self.d = deps

    def _out(self, row: ApiKeyRow) -> ApiKeyOut:
        return ApiKeyOut(**self._fields(row))

    def _fields(self, row: ApiKeyRow) -> dict[str, object]:
        now = self.d.now()
        status = ("revoked" if row.revoked_ns is not None else
                  "expired" if row.expires_ns is not None and row.expires_ns <= now else "active")
        return {"key_id": row.id, "name": row.name, "scopes": row.scopes,
                "allowed_ips": row.allowed_ips, "status": status,
                "created_at": iso(row.created_ns), "expires_at": iso_or_none(row.expires_ns),
                "revoked_at": iso_or_none(row.revoked_ns)}

    async def create(self, c: Caller, req: ApiKeyIn) -> ApiKeyCreatedOut:
        d, now = self.d, self.d.now()
        cidrs = check_cidrs(req.allowed_ips)
        days = min(req.expires_in_days or d.settings.api_key_max_days, d.settings.api_key_max_days)
        key_id, secret = new_id("ak"), secrets.token_urlsafe(32)
        sealed = d.vault.seal(secret.encode(), _purpose(key_id))
        async with d.db.transaction() as s:
            user = await d.active_user(s, c)
            _, perms = await permissions_of(d, s, user)
            scopes = check_scopes(req.scopes, frozenset(perms) & c.principal.permissions)
            row = ApiKeyRow(id=key_id, org_id=c.org, user_id=c.user_id, name=req.name,
                            scopes=scopes, allowed_ips=cidrs, expires_ns=now + days * 86400 * NS,
                            secret_sealed=sealed, created_ns=now)
            s.add(row)
            await d.audit.append(s, c.who, "api_key.created", target_type="api_key",
                                 target_id=key_id, detail={"scopes": scopes,
                                                           "allowed_ips": cidrs, "days": days})
        return ApiKeyCreatedOut(**self._fields(row), secret=secret)

    async def list_keys(self, c: Caller) -> list[ApiKeyOut]:
        async with self.d.db.read() as s:
            await self.d.active_user(s, c)
            rows = await self.d.store.api_keys(s, c.org, c.user_id)
        return [self._out(r) for r in rows]

    async def get_key(self, c: Caller, key_id: str) -> ApiKeyOut:
        async with self.d.db.read() as s:
            row = await self.d.store.api_key(s, key_id, c.org, c.user_id)
        if row is None:
            raise NotFound("no such API key", field="key_id")
        return self._out(row)

    async def revoke(self, c: Caller, key_id: str) -> None:
        d, now = self.d, self.d.now()
        async with d.db.transaction() as s:
            row = await d.store.api_key(s, key_id, c.org, c.user_id)
            if row is None:
                raise NotFound("no such API key", field="key_id")
            if row.revoked_ns is not None:
                return
            await revoke_key(d, s, row, "owner_revoked", now)
            await d.audit.append(s, c.who, "api_key.revoked", target_type="api_key",
                                 target_id=key_id)

    async def grant(self, p: Principal, key_id: str) -> ApiKeyGrant:
        """What the gateway needs to verify a signed request (gateway only)."""
        if p.subject != GATEWAY:
            raise Forbidden("only the gateway may read API-key secrets")
        d, now = self.d, self.d.now()
        async with d.db.read() as s:
            row = await d.store.api_key(s, key_id)
            user = await d.store.user(s, row.user_id, row.org_id) if row else None
            live = (row is not None and user is not None and user.status == "active"
                    and row.revoked_ns is None
                    and (row.expires_ns is None or row.expires_ns > now))
            if not live or row is None or user is None:
                raise NotFound("no such active API key", field="key_id")
            _, perms = await permissions_of(d, s, user)
        secret = d.unseal(row.secret_sealed, _purpose(row.id)).decode()
        return ApiKeyGrant(
            key_id=row.id, secret=secret, user_id=row.user_id, org=row.org_id,
            permissions=sorted(set(row.scopes) & set(perms)), allowed_ips=row.allowed_ips,
            expires_at_ms=row.expires_ns // 1_000_000 if row.expires_ns is not None else None,
        )
