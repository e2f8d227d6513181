"""Service-to-service routes (/internal/v1): decrypted exchange credentials for the trading
service, API-key grants for the gateway, and signing-key rotation for operators. Each
checks the exact calling principal; the gateway never routes /internal paths."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from argosy.contracts.v1.identity import ApiKeyGrant
from argosy.platform.auth.internal import Principal
from argosy.services.users.api._deps import ERRORS, RequestDeps
from argosy.services.users.schemas import CredentialSecretOut
from argosy.services.users.service.accounts import AccountsService
from argosy.services.users.service.api_keys import ApiKeysService
from argosy.services.users.service.audit import AuditService

__all__ = ["router"]

Id = Annotated[str, Path(max_length=40)]
_NO_STORE = {"Cache-Control": "no-store"}


def router(deps: RequestDeps, accounts: AccountsService, api_keys: ApiKeysService,
           audit: AuditService) -> APIRouter:
    r = APIRouter(prefix="/internal/v1", tags=["internal"], responses=ERRORS)
    Svc = Annotated[Principal, Depends(deps.principal)]  # noqa: N806

    @r.get("/credentials/{account_id}", summary="service:trading only: decrypted credentials")
    async def credentials(account_id: Id, p: Svc, request: Request,
                          response: Response) -> CredentialSecretOut:
        response.headers.update(_NO_STORE)
        return await accounts.reveal(p, account_id, deps.client(request).ip)

    @r.get("/api-keys/{key_id}", summary="service:gateway only: what verifies a signed request")
    async def grant(key_id: Id, p: Svc, response: Response) -> ApiKeyGrant:
        response.headers.update(_NO_STORE)
        return await api_keys.grant(p, key_id)

    @r.post("/signing-keys/rotate", summary="Operators (users:keys): new token signing key")
    async def rotate(p: Svc, request: Request) -> dict[str, str | None]:
        return await audit.rotate_signing_key(p, deps.client(request).ip)

    return r
