"""Accounts as the users service announces them (`users.account.created`): the trading
side of an account, and for paper accounts the starting balance as a deposit entry.
Delivered at least once; a second delivery finds the row and changes nothing."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import structlog
from sqlalchemy import select

from argosy.platform.bus.base import Envelope
from argosy.services.trading.models import AccountRow
from argosy.services.trading.service._context import Deps
from argosy.services.trading.service.ledger import adjust_balance

__all__ = ["AccountsIntake"]

log = structlog.get_logger("argosy.trading.accounts")


class AccountsIntake:
    def __init__(self, d: Deps) -> None:
        self.d = d

    async def on_event(self, env: Envelope) -> None:
        data = env.json()
        try:
            await self.open(account_id=str(data["account_id"]), org=str(data["org"]),
                            user_id=str(data["user_id"]), kind=str(data["kind"]),
                            venue=data.get("venue"), currency=str(data["currency"]),
                            starting_balance=data.get("starting_balance"),
                            parent_id=data.get("parent_id"))
        except (KeyError, InvalidOperation) as exc:
            log.warning("accounts.bad_event", error=str(exc), msg_id=env.msg_id)

    async def open(self, *, account_id: str, org: str, user_id: str, kind: str,
                   venue: str | None, currency: str, starting_balance: str | None,
                   parent_id: str | None = None) -> AccountRow:
        d = self.d
        now = d.now()
        async with d.db.transaction() as s:
            found = await d.store.account(s, account_id)
            if found is not None:
                return found
            has_default = await s.scalar(select(AccountRow.id).where(
                AccountRow.user_id == user_id, AccountRow.is_default.is_(True)))
            row = AccountRow(
                id=account_id, org_id=org, user_id=user_id, kind=kind, venue=venue,
                currency=currency, starting_balance=starting_balance,
                is_default=kind == "paper" and parent_id is None and has_default is None,
                created_ns=now)
            s.add(row)
            await s.flush()
            if kind == "paper" and starting_balance:
                amount = Decimal(starting_balance)
                if amount > 0:
                    await adjust_balance(d, s, row, currency, amount, "deposit",
                                         f"open:{account_id}", now)
            log.info("accounts.opened", account=account_id, kind=kind)
            return row
