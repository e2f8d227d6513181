"""Trading accounts and their exchange credentials (/api/v1/accounts)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from argosy.services.users.api._deps import ERRORS, RequestDeps
from argosy.services.users.schemas import AccountIn, AccountOut, CredentialIn, CredentialOut
from argosy.services.users.service._context import Caller
from argosy.services.users.service.accounts import AccountsService

__all__ = ["router"]

AccountId = Annotated[str, Path(max_length=40)]


def router(deps: RequestDeps, accounts: AccountsService) -> APIRouter:
    r = APIRouter(prefix="/api/v1/accounts", tags=["accounts"], responses=ERRORS)
    Who = Annotated[Caller, Depends(deps.caller)]  # noqa: N806

    @r.get("", summary="My trading accounts")
    async def list_accounts(c: Who) -> dict[str, list[AccountOut]]:
        return {"items": await accounts.list_accounts(c)}

    @r.post("", status_code=201, summary="Open a paper or exchange-linked (sub-)account")
    async def create(body: AccountIn, c: Who) -> AccountOut:
        return await accounts.create_account(c, body)

    @r.get("/{account_id}", summary="One account")
    async def get(account_id: AccountId, c: Who) -> AccountOut:
        return await accounts.get_account(c, account_id)

    @r.post("/{account_id}/credentials",
            summary="Store (or replace) the exchange API key and secret, encrypted")
    async def store(account_id: AccountId, body: CredentialIn, c: Who) -> CredentialOut:
        return await accounts.store_credentials(c, account_id, body)

    @r.get("/{account_id}/credentials", summary="The stored key, masked (never the secret)")
    async def show(account_id: AccountId, c: Who) -> CredentialOut:
        return await accounts.credentials(c, account_id)

    @r.delete("/{account_id}/credentials", status_code=204, summary="Delete the credentials")
    async def delete(account_id: AccountId, c: Who) -> Response:
        await accounts.delete_credentials(c, account_id)
        return Response(status_code=204)

    return r
