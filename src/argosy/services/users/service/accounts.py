"""Trading accounts (paper or exchange-linked, with sub-accounts) and the credential vault.

Exchange credentials are sealed by the vault with the account id as associated data and
leave this service in clear only through `reveal`, to the trading service, audited. Every
other path shows the key masked and never the secret.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from argosy.kernel.errors import Forbidden, Invalid, NotFound
from argosy.platform.auth.internal import Principal
from argosy.services.users.auditlog import Who
from argosy.services.users.domain.profile import mask_secret
from argosy.services.users.models import AccountRow, CredentialRow
from argosy.services.users.schemas import (
    AccountIn,
    AccountOut,
    CredentialIn,
    CredentialOut,
    CredentialSecretOut,
)
from argosy.services.users.service._context import Caller, Deps, iso
from argosy.services.users.service._onboarding import add_account

__all__ = ["AccountsService"]

TRADING = "service:trading"
_MAX_BALANCE = Decimal("1e15")


def _purpose(account_id: str) -> str:
    return f"credential:{account_id}"


def _balance(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise Invalid("not a decimal number", field="starting_balance") from None
    if not value.is_finite() or value < 0 or value > _MAX_BALANCE:
        raise Invalid("must be a decimal between 0 and 1e15", field="starting_balance")
    if value.as_tuple().exponent < -18:  # type: ignore[operator]
        raise Invalid("at most 18 decimal places", field="starting_balance")
    return value


class AccountsService:
    def __init__(self, deps: Deps) -> None:
        self.d = deps

    def _out(self, row: AccountRow, has_credentials: bool) -> AccountOut:
        return AccountOut(id=row.id, name=row.name, kind=row.kind, venue=row.venue,
                          parent_id=row.parent_id, currency=row.currency,
                          starting_balance=row.starting_balance,
                          has_credentials=has_credentials, created_at=iso(row.created_ns))

    async def list_accounts(self, c: Caller) -> list[AccountOut]:
        c.require("accounts:read")
        async with self.d.db.read() as s:
            await self.d.active_user(s, c)
            rows = await self.d.store.accounts(s, c.org, c.user_id)
            out = [self._out(r, await self.d.store.credential(s, r.id) is not None)
                   for r in rows]
        return out

    async def get_account(self, c: Caller, account_id: str) -> AccountOut:
        async with self.d.db.read() as s:
            row = await self.d.store.account(s, account_id, c.org, c.user_id)
            if row is None:
                raise NotFound("no such account", field="account_id")
            c.require("accounts:read")
            return self._out(row, await self.d.store.credential(s, row.id) is not None)

    async def create_account(self, c: Caller, req: AccountIn) -> AccountOut:
        c.require("accounts:write")
        d = self.d
        if req.kind == "exchange" and req.starting_balance is not None:
            raise Invalid("exchange accounts hold what the exchange says; no starting balance",
                          field="starting_balance")
        balance = _balance(req.starting_balance)
        async with d.db.transaction() as s:
            user = await d.active_user(s, c)
            venue = req.venue
            if req.parent_id is not None:
                parent = await d.store.account(s, req.parent_id, c.org, c.user_id)
                if parent is None:
                    raise NotFound("no such parent account", field="parent_id")
                if parent.parent_id is not None:
                    raise Invalid("sub-accounts cannot have sub-accounts", field="parent_id")
                if parent.kind != req.kind or (venue is not None and venue != parent.venue):
                    raise Invalid("a sub-account has its parent's kind and venue",
                                  field="parent_id")
                venue = parent.venue
            if req.kind == "exchange" and venue is None:
                raise Invalid("an exchange account names its venue", field="venue")
            if req.kind == "paper" and venue is not None:
                raise Invalid("paper accounts have no venue", field="venue")
            if req.kind == "paper" and balance is None:
                balance = Decimal(d.settings.paper_starting_balance)
            row = await add_account(
                d, s, user, name=req.name, kind=req.kind, venue=venue, parent_id=req.parent_id,
                currency=req.currency or d.settings.paper_currency, starting_balance=balance,
            )
            await d.audit.append(s, c.who, "account.created", target_type="account",
                                 target_id=row.id, detail={"kind": row.kind, "venue": venue,
                                                           "parent_id": row.parent_id})
        return self._out(row, False)

    # -- credentials ---------------------------------------------------------------------
    def _cred_out(self, account: AccountRow, row: CredentialRow, has_passphrase: bool
                  ) -> CredentialOut:
        return CredentialOut(account_id=account.id, venue=account.venue,
                             api_key_masked=row.api_key_masked, has_passphrase=has_passphrase,
                             created_at=iso(row.created_ns), updated_at=iso(row.updated_ns))

    async def store_credentials(self, c: Caller, account_id: str,
                                req: CredentialIn) -> CredentialOut:
        d, now = self.d, self.d.now()
        sealed = d.vault.seal(json.dumps({
            "api_key": req.api_key, "api_secret": req.api_secret, "passphrase": req.passphrase,
        }).encode(), _purpose(account_id))
        async with d.db.transaction() as s:
            account = await d.store.account(s, account_id, c.org, c.user_id)
            if account is None:
                raise NotFound("no such account", field="account_id")
            c.require("accounts:write")
            await d.active_user(s, c)
            if account.kind != "exchange":
                raise Invalid("paper accounts take no exchange credentials", field="account_id")
            row = await d.store.credential(s, account_id)
            replaced = row is not None
            if row is None:
                row = CredentialRow(account_id=account_id, org_id=c.org, created_ns=now,
                                    api_key_masked="", sealed="", updated_ns=now)
                s.add(row)
            row.api_key_masked, row.sealed, row.updated_ns = mask_secret(req.api_key), sealed, now
            await d.audit.append(s, c.who, "credential.replaced" if replaced else
                                 "credential.stored", target_type="account", target_id=account_id,
                                 detail={"api_key_masked": row.api_key_masked,
                                         "venue": account.venue})
        return self._cred_out(account, row, req.passphrase is not None)

    async def credentials(self, c: Caller, account_id: str) -> CredentialOut:
        async with self.d.db.read() as s:
            account = await self.d.store.account(s, account_id, c.org, c.user_id)
            row = await self.d.store.credential(s, account_id) if account else None
        if account is None or row is None:
            raise NotFound("no credentials for this account", field="account_id")
        c.require("accounts:read")
        plain = json.loads(self.d.unseal(row.sealed, _purpose(account_id)))
        return self._cred_out(account, row, plain.get("passphrase") is not None)

    async def delete_credentials(self, c: Caller, account_id: str) -> None:
        d = self.d
        async with d.db.transaction() as s:
            account = await d.store.account(s, account_id, c.org, c.user_id)
            row = await d.store.credential(s, account_id) if account else None
            if account is None or row is None:
                raise NotFound("no credentials for this account", field="account_id")
            c.require("accounts:write")
            await s.delete(row)
            await d.audit.append(s, c.who, "credential.deleted", target_type="account",
                                 target_id=account_id)

    async def reveal(self, p: Principal, account_id: str, ip: str) -> CredentialSecretOut:
        """Decrypted credentials, for the trading service only (audited)."""
        if p.subject != TRADING:
            raise Forbidden("only the trading service may read exchange credentials")
        d = self.d
        async with d.db.transaction() as s:
            account = await d.store.account_any(s, account_id)
            row = await d.store.credential(s, account_id) if account else None
            if account is None or row is None:
                raise NotFound("no credentials for this account", field="account_id")
            plain = json.loads(d.unseal(row.sealed, _purpose(account_id)))
            await d.audit.append(s, Who(p.subject, account.org_id, ip), "credential.revealed",
                                 target_type="account", target_id=account_id,
                                 detail={"api_key_masked": row.api_key_masked})
        return CredentialSecretOut(account_id=account_id, org=account.org_id, venue=account.venue,
                                   api_key=plain["api_key"], api_secret=plain["api_secret"],
                                   passphrase=plain.get("passphrase"))
