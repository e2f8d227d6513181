"""Whose account an order is for, and what the account's open orders hold."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from argosy.kernel.errors import NotFound
from argosy.kernel.instruments import Instrument, InstrumentKind
from argosy.kernel.messages import Side
from argosy.services.trading.models import AccountRow, OrderRow
from argosy.services.trading.service._context import Caller, Deps

__all__ = ["caller_accounts", "locked_by", "owned_account"]


async def caller_accounts(d: Deps, s: AsyncSession, c: Caller) -> list[AccountRow]:
    return await d.store.user_accounts(s, c.user_id, c.org)


async def owned_account(d: Deps, s: AsyncSession, c: Caller,
                        account_id: str | None) -> AccountRow:
    """The named account if the caller owns it, else their default paper account."""
    if account_id is not None:
        row = await d.store.account(s, account_id)
        if row is None or row.user_id != c.user_id or row.org_id != c.org:
            raise NotFound("no such account of yours", field="account_id")
        return row
    rows = await caller_accounts(d, s, c)
    for row in sorted(rows, key=lambda r: (not r.is_default, r.kind != "paper", r.id)):
        return row
    raise NotFound("you have no trading account yet (the users service opens a paper "
                   "account at registration)", field="account_id", code="no_account")


def locked_by(orders: list[OrderRow], instruments: dict[str, Instrument],
              marks: dict[str, Decimal | None], leverage: int) -> dict[str, Decimal]:
    """Per asset, what open orders hold: the quote of spot buys at their limit (or trigger,
    or mark), the base of spot sells, the margin of perpetual orders that add exposure."""
    held: dict[str, Decimal] = defaultdict(Decimal)
    for o in orders:
        instrument = instruments.get(o.instrument)
        if instrument is None:
            continue
        remaining = Decimal(o.quantity) - Decimal(o.filled_quantity)
        price = Decimal(o.price or o.stop_price or 0) or marks.get(o.instrument) or Decimal(0)
        if instrument.kind is InstrumentKind.SPOT:
            if o.side == Side.SELL:
                held[instrument.base] += remaining
            else:
                held[instrument.quote] += remaining * price
        elif not o.reduce_only:
            held[instrument.quote] += remaining * price / leverage
    return dict(held)
