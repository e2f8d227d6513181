"""The signed-in user's own profile, sessions and devices (/api/v1/users/me)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from argosy.services.users.api._deps import ERRORS, RequestDeps
from argosy.services.users.schemas import DeviceOut, ProfileOut, ProfilePatch, SessionOut
from argosy.services.users.service._context import Caller
from argosy.services.users.service.me import MeService

__all__ = ["router"]

Id = Annotated[str, Path(max_length=40)]


def router(deps: RequestDeps, me: MeService) -> APIRouter:
    r = APIRouter(prefix="/api/v1/users/me", tags=["profile"], responses=ERRORS)
    Who = Annotated[Caller, Depends(deps.caller)]  # noqa: N806

    @r.get("", summary="Who am I: profile, roles, permissions, 2FA and KYC state")
    async def profile(c: Who) -> ProfileOut:
        return await me.profile(c)

    @r.patch("", summary="Change name, locale or time zone (IANA)")
    async def update(body: ProfilePatch, c: Who) -> ProfileOut:
        return await me.update(c, body)

    @r.get("/sessions", summary="Live sessions (logins) of this user")
    async def sessions(c: Who) -> dict[str, list[SessionOut]]:
        return {"items": await me.sessions(c)}

    @r.delete("/sessions/{session_id}", status_code=204, summary="End one session")
    async def end(session_id: Id, c: Who) -> Response:
        await me.revoke_session(c, session_id)
        return Response(status_code=204)

    @r.get("/devices", summary="Devices this user has logged in from")
    async def devices(c: Who) -> dict[str, list[DeviceOut]]:
        return {"items": await me.devices(c)}

    @r.delete("/devices/{device_id}", status_code=204,
              summary="Forget a device and end its sessions")
    async def forget(device_id: Id, c: Who) -> Response:
        await me.forget_device(c, device_id)
        return Response(status_code=204)

    return r
