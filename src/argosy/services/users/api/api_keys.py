"""Platform API keys for programs (/api/v1/api-keys)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from argosy.services.users.api._deps import ERRORS, RequestDeps
from argosy.services.users.schemas import ApiKeyCreatedOut, ApiKeyIn, ApiKeyOut
from argosy.services.users.service._context import Caller
from argosy.services.users.service.api_keys import ApiKeysService

__all__ = ["router"]

KeyId = Annotated[str, Path(max_length=40)]


def router(deps: RequestDeps, keys: ApiKeysService) -> APIRouter:
    r = APIRouter(prefix="/api/v1/api-keys", tags=["api-keys"], responses=ERRORS)
    Who = Annotated[Caller, Depends(deps.caller)]  # noqa: N806

    @r.get("", summary="My API keys (never their secrets)")
    async def list_keys(c: Who) -> dict[str, list[ApiKeyOut]]:
        return {"items": await keys.list_keys(c)}

    @r.post("", status_code=201, summary="Create a key; the secret is shown this once")
    async def create(body: ApiKeyIn, c: Who, response: Response) -> ApiKeyCreatedOut:
        response.headers["Cache-Control"] = "no-store"
        return await keys.create(c, body)

    @r.get("/{key_id}", summary="One key")
    async def get(key_id: KeyId, c: Who) -> ApiKeyOut:
        return await keys.get_key(c, key_id)

    @r.delete("/{key_id}", status_code=204, summary="Revoke a key (the gateway is told)")
    async def revoke(key_id: KeyId, c: Who) -> Response:
        await keys.revoke(c, key_id)
        return Response(status_code=204)

    return r
