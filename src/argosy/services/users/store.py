"""Repository over the users service's tables; every method runs in the caller's session.

Tenant-owned lookups take the caller's organisation (and, for personal objects, the
owner) as part of the WHERE clause: an object of another tenant is simply not found, which
the API reports as 404, never 403, so ids cannot be probed across tenants.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.services.users.models import (
    AccountRow,
    ApiKeyRow,
    CredentialRow,
    CustomRoleRow,
    DeviceRow,
    KycCaseRow,
    KycDocumentRow,
    OneTimeTokenRow,
    RecoveryCodeRow,
    RefreshTokenRow,
    RoleGrantRow,
    SessionRow,
    UserRow,
)

__all__ = ["UsersStore"]

_R = TypeVar("_R")


async def _first(s: AsyncSession, q: Select[_R]) -> _R | None:
    return (await s.scalars(q.limit(1))).first()


class UsersStore:
    # -- users and roles -----------------------------------------------------------------
    async def user(self, s: AsyncSession, user_id: str, org: str | None = None, *,
                   lock: bool = False) -> UserRow | None:
        q = select(UserRow).where(UserRow.id == user_id)
        if org is not None:
            q = q.where(UserRow.org_id == org)
        return await _first(s, q.with_for_update() if lock else q)

    async def user_by_email(self, s: AsyncSession, email: str) -> UserRow | None:
        return await _first(s, select(UserRow).where(UserRow.email == email))

    async def users(self, s: AsyncSession, org: str, *, limit: int,
                    after: str | None) -> Sequence[UserRow]:
        q = select(UserRow).where(UserRow.org_id == org)
        if after is not None:
            q = q.where(UserRow.id > after)
        return (await s.scalars(q.order_by(UserRow.id).limit(limit))).all()

    async def roles_of(self, s: AsyncSession, user_id: str) -> list[str]:
        q = select(RoleGrantRow.role).where(RoleGrantRow.user_id == user_id)
        return sorted((await s.scalars(q)).all())

    async def roles_of_many(self, s: AsyncSession, user_ids: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {u: [] for u in user_ids}
        q = select(RoleGrantRow).where(RoleGrantRow.user_id.in_(user_ids))
        for g in (await s.scalars(q)).all():
            out[g.user_id].append(g.role)
        return {u: sorted(r) for u, r in out.items()}

    async def custom_roles(self, s: AsyncSession, org: str) -> Sequence[CustomRoleRow]:
        q = select(CustomRoleRow).where(CustomRoleRow.org_id == org).order_by(CustomRoleRow.name)
        return (await s.scalars(q)).all()

    async def custom_role_perms(self, s: AsyncSession, org: str) -> dict[str, frozenset[str]]:
        return {r.name: frozenset(r.permissions) for r in await self.custom_roles(s, org)}

    async def custom_role(self, s: AsyncSession, org: str, name: str, *,
                          lock: bool = False) -> CustomRoleRow | None:
        q = select(CustomRoleRow).where(CustomRoleRow.org_id == org, CustomRoleRow.name == name)
        return await _first(s, q.with_for_update() if lock else q)

    async def role_holders(self, s: AsyncSession, org: str, role: str) -> Sequence[UserRow]:
        """Every member holding `role`, whatever their status."""
        q = (select(UserRow).join(RoleGrantRow, RoleGrantRow.user_id == UserRow.id)
             .where(RoleGrantRow.org_id == org, RoleGrantRow.role == role)
             .order_by(UserRow.id))
        return (await s.scalars(q)).all()

    async def grant(self, s: AsyncSession, user_id: str, role: str) -> RoleGrantRow | None:
        q = select(RoleGrantRow).where(RoleGrantRow.user_id == user_id, RoleGrantRow.role == role)
        return await _first(s, q)

    async def holders(self, s: AsyncSession, org: str, role: str) -> int:
        q = (select(func.count()).select_from(RoleGrantRow).join(
            UserRow, UserRow.id == RoleGrantRow.user_id)
            .where(RoleGrantRow.org_id == org, RoleGrantRow.role == role,
                   UserRow.status == "active"))
        return int(await s.scalar(q) or 0)

    # -- one-time tokens and recovery codes -----------------------------------------------
    async def one_time(self, s: AsyncSession, token_hash: str,
                       purpose: str) -> OneTimeTokenRow | None:
        q = select(OneTimeTokenRow).where(OneTimeTokenRow.token_hash == token_hash,
                                          OneTimeTokenRow.purpose == purpose)
        return await _first(s, q)

    async def use_one_time(self, s: AsyncSession, token_id: int, now: int) -> bool:
        """Mark used; False when another request used it first."""
        r = await s.execute(update(OneTimeTokenRow).where(
            OneTimeTokenRow.id == token_id, OneTimeTokenRow.used_ns.is_(None)
        ).values(used_ns=now))
        return bool(getattr(r, "rowcount", 0))

    async def use_recovery_code(self, s: AsyncSession, user_id: str, code_hash: str,
                                now: int) -> bool:
        r = await s.execute(update(RecoveryCodeRow).where(
            RecoveryCodeRow.user_id == user_id, RecoveryCodeRow.code_hash == code_hash,
            RecoveryCodeRow.used_ns.is_(None),
        ).values(used_ns=now))
        return bool(getattr(r, "rowcount", 0))

    async def unused_recovery_codes(self, s: AsyncSession, user_id: str) -> int:
        q = select(func.count()).select_from(RecoveryCodeRow).where(
            RecoveryCodeRow.user_id == user_id, RecoveryCodeRow.used_ns.is_(None))
        return int(await s.scalar(q) or 0)

    async def replace_recovery_codes(self, s: AsyncSession, user_id: str,
                                     hashes: list[str]) -> None:
        await s.execute(delete(RecoveryCodeRow).where(RecoveryCodeRow.user_id == user_id))
        s.add_all(RecoveryCodeRow(user_id=user_id, code_hash=h) for h in hashes)

    async def set_totp_step(self, s: AsyncSession, user_id: str, step: int) -> bool:
        """Record the step a code was accepted for; False if it (or a later one) was used."""
        r = await s.execute(update(UserRow).where(
            UserRow.id == user_id,
            (UserRow.totp_last_step.is_(None)) | (UserRow.totp_last_step < step),
        ).values(totp_last_step=step))
        return bool(getattr(r, "rowcount", 0))

    # -- sessions, refresh tokens, devices -------------------------------------------------
    async def session(self, s: AsyncSession, sid: str, user_id: str | None = None, *,
                      lock: bool = False) -> SessionRow | None:
        q = select(SessionRow).where(SessionRow.id == sid)
        if user_id is not None:
            q = q.where(SessionRow.user_id == user_id)
        return await _first(s, q.with_for_update() if lock else q)

    async def live_sessions(self, s: AsyncSession, user_id: str, now: int, *,
                            device_id: str | None = None) -> Sequence[SessionRow]:
        q = select(SessionRow).where(SessionRow.user_id == user_id,
                                     SessionRow.revoked_ns.is_(None), SessionRow.expires_ns > now)
        if device_id is not None:
            q = q.where(SessionRow.device_id == device_id)
        return (await s.scalars(q.order_by(SessionRow.created_ns.desc()))).all()

    async def refresh_token(self, s: AsyncSession, token_hash: str, *,
                            lock: bool = False) -> RefreshTokenRow | None:
        q = select(RefreshTokenRow).where(RefreshTokenRow.token_hash == token_hash)
        return await _first(s, q.with_for_update() if lock else q)

    async def refresh_by_id(self, s: AsyncSession, token_id: int) -> RefreshTokenRow | None:
        return await s.get(RefreshTokenRow, token_id)

    async def clear_grace(self, s: AsyncSession, session_id: str) -> None:
        """The family's earlier pairs can no longer be replayed (revocation, rotation)."""
        await s.execute(update(RefreshTokenRow).where(
            RefreshTokenRow.session_id == session_id, RefreshTokenRow.grace_sealed.is_not(None)
        ).values(grace_sealed=None))

    async def retire_refresh_tokens(self, s: AsyncSession, session_id: str, now: int) -> None:
        """The session's live refresh tokens stop working (expired, not reused: presenting
        one later is refused without revoking the session)."""
        await s.execute(update(RefreshTokenRow).where(
            RefreshTokenRow.session_id == session_id, RefreshTokenRow.rotated_ns.is_(None),
            RefreshTokenRow.expires_ns > now,
        ).values(expires_ns=now, grace_sealed=None))

    async def device(self, s: AsyncSession, user_id: str, *, fingerprint: str | None = None,
                     device_id: str | None = None) -> DeviceRow | None:
        q = select(DeviceRow).where(DeviceRow.user_id == user_id)
        if fingerprint is not None:
            q = q.where(DeviceRow.fingerprint == fingerprint)
        if device_id is not None:
            q = q.where(DeviceRow.id == device_id)
        return await _first(s, q)

    async def devices(self, s: AsyncSession, user_id: str) -> Sequence[DeviceRow]:
        q = select(DeviceRow).where(DeviceRow.user_id == user_id)
        return (await s.scalars(q.order_by(DeviceRow.last_seen_ns.desc()))).all()

    async def has_devices(self, s: AsyncSession, user_id: str) -> bool:
        return await self.device(s, user_id) is not None

    # -- accounts and credentials ----------------------------------------------------------
    async def account(self, s: AsyncSession, account_id: str, org: str,
                      user_id: str) -> AccountRow | None:
        q = select(AccountRow).where(AccountRow.id == account_id, AccountRow.org_id == org,
                                     AccountRow.user_id == user_id)
        return await _first(s, q)

    async def account_any(self, s: AsyncSession, account_id: str) -> AccountRow | None:
        """Internal callers only (the trading service acts for every tenant)."""
        return await s.get(AccountRow, account_id)

    async def accounts(self, s: AsyncSession, org: str, user_id: str) -> Sequence[AccountRow]:
        q = select(AccountRow).where(AccountRow.org_id == org, AccountRow.user_id == user_id)
        return (await s.scalars(q.order_by(AccountRow.created_ns, AccountRow.id))).all()

    async def credential(self, s: AsyncSession, account_id: str) -> CredentialRow | None:
        return await s.get(CredentialRow, account_id)

    # -- API keys ------------------------------------------------------------------------
    async def api_key(self, s: AsyncSession, key_id: str, org: str | None = None,
                      user_id: str | None = None) -> ApiKeyRow | None:
        q = select(ApiKeyRow).where(ApiKeyRow.id == key_id)
        if org is not None:
            q = q.where(ApiKeyRow.org_id == org)
        if user_id is not None:
            q = q.where(ApiKeyRow.user_id == user_id)
        return await _first(s, q)

    async def api_keys(self, s: AsyncSession, org: str, user_id: str) -> Sequence[ApiKeyRow]:
        q = select(ApiKeyRow).where(ApiKeyRow.org_id == org, ApiKeyRow.user_id == user_id)
        return (await s.scalars(q.order_by(ApiKeyRow.created_ns.desc()))).all()

    async def live_api_keys_of(self, s: AsyncSession, user_id: str) -> Sequence[ApiKeyRow]:
        q = select(ApiKeyRow).where(ApiKeyRow.user_id == user_id, ApiKeyRow.revoked_ns.is_(None))
        return (await s.scalars(q)).all()

    # -- KYC -------------------------------------------------------------------------------
    async def kyc_case(self, s: AsyncSession, user_id: str, org: str, *,
                       lock: bool = False) -> KycCaseRow | None:
        q = select(KycCaseRow).where(KycCaseRow.user_id == user_id, KycCaseRow.org_id == org)
        return await _first(s, q.with_for_update() if lock else q)

    async def kyc_cases(self, s: AsyncSession, org: str, state: str | None,
                        limit: int) -> Sequence[KycCaseRow]:
        q = select(KycCaseRow).where(KycCaseRow.org_id == org)
        if state is not None:
            q = q.where(KycCaseRow.state == state)
        return (await s.scalars(q.order_by(KycCaseRow.updated_ns).limit(limit))).all()

    async def kyc_documents(self, s: AsyncSession, user_id: str,
                            org: str) -> Sequence[KycDocumentRow]:
        q = select(KycDocumentRow).where(KycDocumentRow.user_id == user_id,
                                         KycDocumentRow.org_id == org)
        return (await s.scalars(q.order_by(KycDocumentRow.uploaded_ns))).all()

    async def kyc_document(self, s: AsyncSession, doc_id: str, org: str) -> KycDocumentRow | None:
        q = select(KycDocumentRow).where(KycDocumentRow.id == doc_id,
                                         KycDocumentRow.org_id == org)
        return await _first(s, q)
