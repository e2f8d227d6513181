"""Custom roles of one organisation: list, create, edit, delete, each change audited.

Editing or deleting a role changes what its holders may do, so the same delegation rule
as granting applies: an admin can only write a role whose old and new permissions they
hold themselves. Holders see the change in their next access token (issued at the next
refresh, within one token lifetime); a `users.roles.changed` event tells the other
services at once. A role still held cannot be deleted: revoking it from its holders first
is a decision about people, not about the role.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.contracts.v1.identity import BUILTIN_ROLES
from argosy.kernel.errors import Conflict, NotFound
from argosy.services.users.domain.rbac import (
    check_grant,
    check_permissions,
    check_role_name,
    grantable,
)
from argosy.services.users.events import RolesChanged
from argosy.services.users.models import CustomRoleRow
from argosy.services.users.schemas import RoleIn, RoleOut, RolePatch
from argosy.services.users.service._context import Caller, Deps
from argosy.services.users.service._sessions import acting_permissions, permissions_of

__all__ = ["RolesService"]


def _out(r: CustomRoleRow) -> RoleOut:
    return RoleOut(name=r.name, permissions=sorted(r.permissions), builtin=False,
                   description=r.description)


class RolesService:
    def __init__(self, deps: Deps) -> None:
        self.d = deps

    async def roles(self, c: Caller) -> list[RoleOut]:
        async with self.d.db.read() as s:
            await acting_permissions(self.d, s, c)
            custom = await self.d.store.custom_roles(s, c.org)
        scope = grantable(self.d.platform_org(c.org))
        out = [RoleOut(name=n, permissions=sorted(p & scope), builtin=True,
                       description="built-in") for n, p in BUILTIN_ROLES.items()]
        return out + [_out(r) for r in custom]

    async def create_role(self, c: Caller, req: RoleIn) -> RoleOut:
        d = self.d
        name = check_role_name(req.name)
        perms = check_permissions(req.permissions, platform=d.platform_org(c.org))
        try:
            async with d.db.transaction() as s:
                check_grant(await acting_permissions(d, s, c), name, perms)
                if name in await d.store.custom_role_perms(s, c.org):
                    raise Conflict(f"role {name!r} exists", field="name")
                s.add(CustomRoleRow(org_id=c.org, name=name, permissions=sorted(perms),
                                    description=req.description, created_ns=d.now()))
                await d.audit.append(s, c.who, "role.created", target_type="role",
                                     target_id=name, detail={"permissions": sorted(perms)})
        except IntegrityError:
            raise Conflict(f"role {name!r} exists", field="name") from None
        return RoleOut(name=name, permissions=sorted(perms), builtin=False,
                       description=req.description)

    async def update_role(self, c: Caller, name: str, patch: RolePatch) -> RoleOut:
        d = self.d
        perms = (check_permissions(patch.permissions, platform=d.platform_org(c.org))
                 if patch.permissions is not None else None)
        async with d.db.transaction() as s:
            actor = await acting_permissions(d, s, c)
            row = await self._custom(s, c, name)
            before = frozenset(row.permissions)
            check_grant(actor, name, before | (perms or frozenset()))
            detail: dict[str, object] = {}
            if perms is not None and perms != before:
                row.permissions = sorted(perms)
                detail.update(before=sorted(before), after=sorted(perms))
            if patch.description is not None and patch.description != row.description:
                row.description = patch.description
                detail["description"] = patch.description
            if not detail:
                return _out(row)
            await s.flush()
            await d.audit.append(s, c.who, "role.updated", target_type="role",
                                 target_id=name, detail=detail)
            if "after" in detail:
                await self._tell_holders(s, c, name)
            return _out(row)

    async def delete_role(self, c: Caller, name: str) -> None:
        d = self.d
        async with d.db.transaction() as s:
            actor = await acting_permissions(d, s, c)
            row = await self._custom(s, c, name)
            check_grant(actor, name, frozenset(row.permissions))
            holders = await d.store.role_holders(s, c.org, name)
            if holders:
                raise Conflict(f"role {name!r} is held by {len(holders)} member(s); revoke "
                               "it from them first", field="name",
                               details={"holders": [u.id for u in holders]})
            await s.delete(row)
            await d.audit.append(s, c.who, "role.deleted", target_type="role",
                                 target_id=name, detail={"permissions": sorted(row.permissions)})

    async def _custom(self, s: AsyncSession, c: Caller, name: str) -> CustomRoleRow:
        if name in BUILTIN_ROLES:
            raise Conflict(f"{name!r} is a built-in role: it cannot be changed", field="name")
        row = await self.d.store.custom_role(s, c.org, name, lock=True)
        if row is None:
            raise NotFound(f"no custom role {name!r}", field="name")
        return row

    async def _tell_holders(self, s: AsyncSession, c: Caller, name: str) -> None:
        for user in await self.d.store.role_holders(s, c.org, name):
            roles, perms = await permissions_of(self.d, s, user)
            await self.d.events.publish(s, RolesChanged(
                at_ms=self.d.now() // 1_000_000, user_id=user.id, org=user.org_id,
                roles=roles, permissions=perms, actor=f"user:{c.user_id}",
            ))
