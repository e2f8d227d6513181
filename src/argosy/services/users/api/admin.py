"""Administration of the caller's organisation (/api/v1/admin), `users:admin` only."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from argosy.services.users.api._deps import ERRORS, RequestDeps
from argosy.services.users.schemas import AdminUserIn, AdminUserOut, RoleAssignIn, RoleIn, RoleOut
from argosy.services.users.service._context import Caller
from argosy.services.users.service.admin import AdminService

__all__ = ["router"]

UserId = Annotated[str, Path(max_length=40)]

def router(deps: RequestDeps, admin: AdminService) -> APIRouter:
    r = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=ERRORS)
    Who = Annotated[Caller, Depends(deps.caller)]  # noqa: N806

    @r.get("/users", summary="Members of my organisation")
    async def users(
        c: Who, limit: Annotated[int, Query(ge=1, le=500)] = 100,
        after: Annotated[str | None, Query(max_length=40)] = None,
    ) -> dict[str, object]:
        items = await admin.list_users(c, limit, after)
        return {"items": items, "next_after": items[-1].id if len(items) == limit else None}

    @r.post("/users", status_code=201, summary="Invite a member (mails a set-password link)")
    async def invite(body: AdminUserIn, c: Who) -> AdminUserOut:
        return await admin.invite(c, body)

    @r.get("/users/{user_id}", summary="One member")
    async def user(user_id: UserId, c: Who) -> AdminUserOut:
        return await admin.get_user(c, user_id)

    @r.post("/users/{user_id}/disable", summary="Disable: ends sessions, revokes API keys")
    async def disable(user_id: UserId, c: Who) -> AdminUserOut:
        return await admin.set_status(c, user_id, enabled=False)

    @r.post("/users/{user_id}/enable", summary="Enable a disabled member")
    async def enable(user_id: UserId, c: Who) -> AdminUserOut:
        return await admin.set_status(c, user_id, enabled=True)

    @r.post("/users/{user_id}/roles", summary="Assign a role")
    async def assign(user_id: UserId, body: RoleAssignIn, c: Who) -> AdminUserOut:
        return await admin.assign(c, user_id, body.role)

    @r.delete("/users/{user_id}/roles/{role}", summary="Revoke a role")
    async def unassign(user_id: UserId, role: Annotated[str, Path(max_length=32)],
                       c: Who) -> AdminUserOut:
        return await admin.unassign(c, user_id, role)

    @r.get("/roles", summary="Built-in and custom roles")
    async def roles(c: Who) -> dict[str, list[RoleOut]]:
        return {"items": await admin.roles(c)}

    @r.post("/roles", status_code=201, summary="Create a custom role from permissions")
    async def create_role(body: RoleIn, c: Who) -> RoleOut:
        return await admin.create_role(c, body)

    return r
