"""Administration of one organisation: members (invite, disable, enable), role grants and
members' sessions (custom roles: admin_roles.py). An admin acts with the permissions they
hold now (stored roles, narrowed by the token), never more, and the last active admin of
an organisation cannot be removed.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.kernel.errors import Conflict, Invalid, NotFound
from argosy.kernel.ids import new_id
from argosy.services.users.domain.profile import normalise_email
from argosy.services.users.domain.rbac import ADMIN_ROLE, check_grant, role_permissions
from argosy.services.users.events import RolesChanged
from argosy.services.users.models import RoleGrantRow, UserRow
from argosy.services.users.schemas import AdminUserIn, AdminUserOut, SessionOut
from argosy.services.users.service._context import Caller, Deps, iso
from argosy.services.users.service._sessions import (
    acting_permissions,
    permissions_of,
    revoke_all,
    revoke_session,
    session_out,
)
from argosy.services.users.service.api_keys import revoke_key
from argosy.services.users.service.recovery import reset_token_event

__all__ = ["AdminService"]


class AdminService:
    def __init__(self, deps: Deps) -> None:
        self.d = deps

    async def _actor(self, s: AsyncSession, c: Caller) -> frozenset[str]:
        return await acting_permissions(self.d, s, c)

    async def _member(self, s: AsyncSession, c: Caller, user_id: str, *,
                      lock: bool = False) -> UserRow:
        user = await self.d.store.user(s, user_id, c.org, lock=lock)
        if user is None:
            raise NotFound("no such user", field="user_id")
        return user

    def _out(self, u: UserRow, roles: list[str]) -> AdminUserOut:
        return AdminUserOut(id=u.id, email=u.email, name=u.name, status=u.status,
                            email_verified=u.email_verified, two_factor_enabled=u.totp_enabled,
                            roles=roles, created_at=iso(u.created_ns))

    # -- members -------------------------------------------------------------------------
    async def list_users(self, c: Caller, limit: int, after: str | None) -> list[AdminUserOut]:
        async with self.d.db.read() as s:
            await self._actor(s, c)
            users = await self.d.store.users(s, c.org, limit=limit, after=after)
            roles = await self.d.store.roles_of_many(s, [u.id for u in users])
        return [self._out(u, roles[u.id]) for u in users]

    async def get_user(self, c: Caller, user_id: str) -> AdminUserOut:
        async with self.d.db.read() as s:
            user = await self._member(s, c, user_id)
            await self._actor(s, c)
            return self._out(user, await self.d.store.roles_of(s, user.id))

    async def invite(self, c: Caller, req: AdminUserIn) -> AdminUserOut:
        """A member of the caller's organisation, who sets a password from the mailed link."""
        d, now = self.d, self.d.now()
        email = normalise_email(req.email)
        try:
            async with d.db.transaction() as s:
                actor_perms = await self._actor(s, c)
                custom = await d.store.custom_role_perms(s, c.org)
                roles = sorted(set(req.roles))
                for i, role in enumerate(roles):
                    perms = role_permissions(role, custom, platform=d.platform_org(c.org))
                    if perms is None:
                        raise Invalid(f"no role {role!r}", field=f"roles.{i}")
                    check_grant(actor_perms, role, perms)
                if await d.store.user_by_email(s, email) is not None:
                    raise Conflict("this email is already registered", field="email")
                user = UserRow(id=new_id("usr"), org_id=c.org, email=email, password_hash=None,
                               status="invited", email_verified=False, name=req.name,
                               locale="en", timezone="UTC", totp_enabled=False, created_ns=now,
                               updated_ns=now)
                s.add(user)
                s.add_all(RoleGrantRow(user_id=user.id, role=r, org_id=c.org,
                                       granted_by=f"user:{c.user_id}", granted_ns=now)
                          for r in roles)
                await s.flush()
                token, event = reset_token_event(d, user, "invite", d.settings.email_token_ttl_s)
                s.add(token)
                await d.events.publish(s, event)
                await self._roles_changed(s, c, user)
                await d.audit.append(s, c.who, "user.invited", target_type="user",
                                     target_id=user.id, detail={"roles": roles})
        except IntegrityError:
            raise Conflict("this email is already registered", field="email") from None
        return self._out(user, roles)

    async def set_status(self, c: Caller, user_id: str, *, enabled: bool) -> AdminUserOut:
        """Disabling ends every session and revokes every API key of the user."""
        d, now = self.d, self.d.now()
        async with d.db.transaction() as s:
            user = await self._member(s, c, user_id, lock=True)
            await self._actor(s, c)
            if user.id == c.user_id:
                raise Conflict("you cannot change your own status", field="user_id")
            if user.status == "invited":
                raise Conflict("an invited user is enabled by accepting the invitation")
            detail: dict[str, int] = {}
            if not enabled and user.status == "active":
                await self._keep_an_admin(s, c, user.id, ADMIN_ROLE)
                user.status = "disabled"
                detail["sessions_revoked"] = await revoke_all(d, s, user.id, "user_disabled", now)
                keys = await d.store.live_api_keys_of(s, user.id)
                for key in keys:
                    await revoke_key(d, s, key, "owner_disabled", now)
                detail["api_keys_revoked"] = len(keys)
            elif enabled and user.status == "disabled":
                user.status = "active"
            else:
                return self._out(user, await d.store.roles_of(s, user.id))
            user.updated_ns = now
            await d.audit.append(s, c.who, "user.enabled" if enabled else "user.disabled",
                                 target_type="user", target_id=user.id, detail=detail)
            return self._out(user, await d.store.roles_of(s, user.id))

    # -- role grants ---------------------------------------------------------------------
    async def assign(self, c: Caller, user_id: str, role: str) -> AdminUserOut:
        d, now = self.d, self.d.now()
        async with d.db.transaction() as s:
            user = await self._member(s, c, user_id)
            actor_perms = await self._actor(s, c)
            perms = role_permissions(role, await d.store.custom_role_perms(s, c.org),
                                     platform=d.platform_org(c.org))
            if perms is None:
                raise Invalid(f"no role {role!r}", field="role")
            check_grant(actor_perms, role, perms)
            if await d.store.grant(s, user.id, role) is None:
                s.add(RoleGrantRow(user_id=user.id, role=role, org_id=c.org,
                                   granted_by=f"user:{c.user_id}", granted_ns=now))
                await s.flush()
                await self._roles_changed(s, c, user)
                await d.audit.append(s, c.who, "role.assigned", target_type="user",
                                     target_id=user.id, detail={"role": role})
            return self._out(user, await d.store.roles_of(s, user.id))

    async def unassign(self, c: Caller, user_id: str, role: str) -> AdminUserOut:
        d = self.d
        async with d.db.transaction() as s:
            user = await self._member(s, c, user_id)
            actor_perms = await self._actor(s, c)
            grant = await d.store.grant(s, user.id, role)
            if grant is None:
                raise NotFound(f"the user does not hold {role!r}", field="role")
            perms = role_permissions(role, await d.store.custom_role_perms(s, c.org),
                                     platform=d.platform_org(c.org))
            check_grant(actor_perms, role, perms or frozenset())
            if role == ADMIN_ROLE:
                await self._keep_an_admin(s, c, user.id, role)
            await s.delete(grant)
            await s.flush()
            await self._roles_changed(s, c, user)
            await d.audit.append(s, c.who, "role.revoked", target_type="user",
                                 target_id=user.id, detail={"role": role})
            return self._out(user, await d.store.roles_of(s, user.id))

    async def _keep_an_admin(self, s: AsyncSession, c: Caller, user_id: str, role: str) -> None:
        if await self.d.store.grant(s, user_id, role) is not None and \
                await self.d.store.holders(s, c.org, role) <= 1:
            raise Conflict("the organisation would be left without an active admin")

    async def _roles_changed(self, s: AsyncSession, c: Caller, user: UserRow) -> None:
        roles, perms = await permissions_of(self.d, s, user)
        await self.d.events.publish(s, RolesChanged(
            at_ms=self.d.now() // 1_000_000, user_id=user.id, org=user.org_id, roles=roles,
            permissions=perms, actor=f"user:{c.user_id}",
        ))

    # -- a member's sessions ---------------------------------------------------------------
    async def sessions(self, c: Caller, user_id: str) -> list[SessionOut]:
        """A member's live sessions (where they are signed in), for an admin of the same
        organisation; another organisation's user is not found."""
        async with self.d.db.read() as s:
            user = await self._member(s, c, user_id)
            await self._actor(s, c)
            rows = await self.d.store.live_sessions(s, user.id, self.d.now())
        return [session_out(r) for r in rows]

    async def revoke_session(self, c: Caller, user_id: str, session_id: str) -> None:
        d, now = self.d, self.d.now()
        async with d.db.transaction() as s:
            user = await self._member(s, c, user_id)
            await self._actor(s, c)
            row = await d.store.session(s, session_id, user.id, lock=True)
            if row is None or row.revoked_ns is not None or row.expires_ns <= now:
                raise NotFound("no such session", field="session_id")
            await revoke_session(d, s, row, "admin_revoked", now)
            await d.audit.append(s, c.who, "session.revoked_by_admin", target_type="session",
                                 target_id=row.id, detail={"user_id": user.id})
