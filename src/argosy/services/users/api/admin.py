"""Administration of the caller's organisation (/api/v1/admin), `users:admin` only."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from argosy.services.users.api._deps import ERRORS, RequestDeps
from argosy.services.users.schemas import (
    AdminUserIn,
    AdminUserOut,
    RoleAssignIn,
    RoleIn,
    RoleOut,
    RolePatch,
    SessionOut,
)
from argosy.services.users.service._context import Caller
from argosy.services.users.service.admin import AdminService
from argosy.services.users.service.admin_roles import RolesService

__all__ = ["router"]

UserId = Annotated[str, Path(max_length=40)]
RoleName = Annotated[str, Path(max_length=32)]


def router(deps: RequestDeps, admin: AdminService, custom: RolesService) -> APIRouter:
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
    async def unassign(user_id: UserId, role: RoleName, c: Who) -> AdminUserOut:
        return await admin.unassign(c, user_id, role)

    @r.get("/users/{user_id}/sessions", summary="A member's live sessions")
    async def sessions(user_id: UserId, c: Who) -> dict[str, list[SessionOut]]:
        return {"items": await admin.sessions(c, user_id)}

    @r.delete("/users/{user_id}/sessions/{session_id}", status_code=204,
              summary="End a member's session (audited)")
    async def end_session(user_id: UserId, session_id: Annotated[str, Path(max_length=40)],
                          c: Who) -> Response:
        await admin.revoke_session(c, user_id, session_id)
        return Response(status_code=204)

    @r.get("/roles", summary="Built-in and custom roles")
    async def roles(c: Who) -> dict[str, list[RoleOut]]:
        return {"items": await custom.roles(c)}

    @r.post("/roles", status_code=201, summary="Create a custom role from permissions")
    async def create_role(body: RoleIn, c: Who) -> RoleOut:
        return await custom.create_role(c, body)

    @r.patch("/roles/{role}", summary="Change a custom role's permissions or description")
    async def update_role(role: RoleName, body: RolePatch, c: Who) -> RoleOut:
        return await custom.update_role(c, role, body)

    @r.delete("/roles/{role}", status_code=204,
              summary="Delete a custom role nobody holds (audited)")
    async def delete_role(role: RoleName, c: Who) -> Response:
        await custom.delete_role(c, role)
        return Response(status_code=204)

    return r
