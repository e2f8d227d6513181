"""Booking: a venue fill into the fills table, its position and its balances, with their
events, inside the caller's transaction. A fill id seen before is not booked again, so a
fill that arrives in the send's answer, on the stream and in reconciliation counts once.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from argosy.kernel.instruments import Instrument
from argosy.kernel.orders import VenueFill
from argosy.services.trading.domain.ledger import (
    FillFacts,
    PositionState,
    apply_fill,
    unrealized,
)
from argosy.services.trading.events import (
    balance_event,
    dstr,
    fill_event,
    position_event,
)
from argosy.services.trading.models import (
    AccountRow,
    BalanceEntryRow,
    BalanceRow,
    FillRow,
    OrderRow,
    PositionRow,
)
from argosy.services.trading.service._accounts import locked_by
from argosy.services.trading.service._context import Deps
from argosy.services.trading.service.margin import account_margins

__all__ = ["adjust_balance", "book_fill", "position_state"]


def position_state(row: PositionRow | None) -> PositionState:
    if row is None:
        return PositionState()
    return PositionState(Decimal(row.quantity),
                         Decimal(row.average_entry) if row.average_entry else None,
                         Decimal(row.realized_pnl), Decimal(row.fees_paid))


async def adjust_balance(d: Deps, s: AsyncSession, account: AccountRow, asset: str,
                         delta: Decimal, reason: str, ref: str, ts_ns: int) -> BalanceRow:
    """One journal entry and the running total it moves (and its event)."""
    row = await d.store.balance(s, account.id, asset)
    if row is None:
        row = BalanceRow(account_id=account.id, asset=asset, org_id=account.org_id,
                         total="0", updated_ns=ts_ns)
        s.add(row)
    row.total = dstr(Decimal(row.total) + delta)
    row.updated_ns = ts_ns
    s.add(BalanceEntryRow(account_id=account.id, asset=asset, delta=dstr(delta),
                          reason=reason, ref=ref[:80], ts_ns=ts_ns))
    opens = await d.store.open_orders(s, account.id)
    instruments = {o.instrument: d.instruments.cached(o.instrument) for o in opens}
    held = locked_by(opens, {k: v for k, v in instruments.items() if v is not None},
                     {o.instrument: d.marks.mark(o.instrument) for o in opens},
                     d.settings.perp_leverage)
    await balance_event(d.outbox, s, row, account.user_id, ref, ts_ns,
                        held.get(asset, Decimal(0)))
    return row


async def book_fill(d: Deps, s: AsyncSession, account: AccountRow, order: OrderRow,
                    instrument: Instrument, fill: VenueFill) -> bool:
    """Book `fill` once; False when it was already booked."""
    key = str(fill.instrument_id)
    if await d.store.fill(s, account.id, key, fill.fill_id) is not None:
        return False
    row = FillRow(account_id=account.id, org_id=account.org_id, order_id=order.id,
                  fill_id=fill.fill_id, instrument=key, side=str(fill.side),
                  price=fill.price.to_str(), quantity=fill.quantity.to_str(),
                  fee=fill.fee.to_str(), fee_asset=fill.fee_asset,
                  liquidity=str(fill.liquidity), ts_ns=fill.ts_ns)
    s.add(row)
    pos_row = await d.store.position(s, account.id, key)
    state, changes = apply_fill(position_state(pos_row), FillFacts(
        instrument.kind, instrument.base, instrument.quote, fill.side, fill.price.value,
        fill.quantity.value, fill.fee.value, fill.fee_asset))
    now = d.now()
    if pos_row is None:
        pos_row = PositionRow(account_id=account.id, instrument=key, org_id=account.org_id,
                              quantity="0", realized_pnl="0", fees_paid="0", updated_ns=now)
        s.add(pos_row)
    pos_row.quantity = dstr(state.quantity)
    pos_row.average_entry = dstr(state.average_entry) if state.average_entry is not None \
        else None
    pos_row.realized_pnl = dstr(state.realized_pnl)
    pos_row.fees_paid = dstr(state.fees_paid)
    pos_row.updated_ns = now
    ref = f"fill:{fill.fill_id}"
    for change in changes:
        await adjust_balance(d, s, account, change.asset, change.delta, change.reason,
                             f"{ref}:{change.reason}", fill.ts_ns)
    await s.flush()
    await fill_event(d.outbox, s, row, account.user_id)
    mark = d.marks.mark(key)
    margin = (await account_margins(d, s, account.id, account.org_id)).get(key)
    await position_event(d.outbox, s, pos_row, account.user_id, ref, now,
                         dstr(mark) if mark is not None else None,
                         dstr(unrealized(state, mark)),
                         margin.leverage if margin else None,
                         dstr(margin.liquidation) if margin and margin.liquidation else None)
    return True
