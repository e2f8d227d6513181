"""Positions and balances from fills: the numbers that must tie out to the last decimal.

One fill changes one position and a few balances, computed here from the same Decimals,
so the sum of fills, the position changes and the balance changes agree exactly:

- spot: the base balance moves by the quantity, the quote balance by price × quantity,
  the fee asset by the fee; the position is the base bought minus sold since the account
  opened, with an average entry and realized PnL for reporting;
- perpetual: no asset changes hands; the quote balance moves by the realized PnL minus the
  fee, and the position carries the signed quantity.

Quantities are signed here (short < 0). All arithmetic runs in the kernel's money context.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from argosy.kernel.instruments import InstrumentKind
from argosy.kernel.messages import Side
from argosy.kernel.money import MONEY_CONTEXT as M

__all__ = ["MAINTENANCE_RATE", "MAX_LEVERAGE", "PNL_STEP", "ZERO", "BalanceChange", "FillFacts",
           "PositionState", "apply_fill", "initial_margin", "liquidation_price",
           "maintenance_margin", "unrealized"]

ZERO = Decimal(0)
# The average entry keeps every digit the money context holds; each realized amount is
# rounded once, to 1e-12, so the wallet is exactly the sum of the amounts booked (the
# paper venue's convention, so trading and paper agree to the last digit).
PNL_STEP = Decimal("1e-12")


@dataclass(frozen=True, slots=True)
class PositionState:
    quantity: Decimal = ZERO  # signed
    average_entry: Decimal | None = None
    realized_pnl: Decimal = ZERO  # quote asset
    fees_paid: Decimal = ZERO  # quote asset (fees charged in another asset are not in it)


@dataclass(frozen=True, slots=True)
class FillFacts:
    kind: InstrumentKind
    base: str
    quote: str
    side: Side
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_asset: str


@dataclass(frozen=True, slots=True)
class BalanceChange:
    asset: str
    delta: Decimal
    reason: str  # trade, fee, pnl


def _signed(side: Side, quantity: Decimal) -> Decimal:
    return quantity if side is Side.BUY else M.minus(quantity)


def _move(pos: PositionState, delta: Decimal, price: Decimal) -> tuple[PositionState, Decimal]:
    """The position after a signed trade of `delta` at `price`, and the PnL it realized."""
    q, avg = pos.quantity, pos.average_entry
    new_q = M.add(q, delta)
    if q == 0 or (q > 0) == (delta > 0):  # opening or adding
        size = M.abs(q)
        total = M.add(M.multiply(size, avg or ZERO), M.multiply(M.abs(delta), price))
        new_avg = M.divide(total, M.abs(new_q))
        return replace(pos, quantity=new_q, average_entry=new_avg), ZERO
    closing = min(M.abs(q), M.abs(delta))
    direction = Decimal(1) if q > 0 else Decimal(-1)
    pnl = M.multiply(M.multiply(closing, M.subtract(price, avg or price)), direction
                     ).quantize(PNL_STEP, context=M)
    if new_q == 0:
        entry: Decimal | None = None
    elif (new_q > 0) == (q > 0):
        entry = avg
    else:  # flipped: the remainder was opened at this price
        entry = price
    return replace(pos, quantity=new_q, average_entry=entry,
                   realized_pnl=M.add(pos.realized_pnl, pnl)), pnl


def apply_fill(pos: PositionState, fill: FillFacts) -> tuple[PositionState, list[BalanceChange]]:
    """The position after `fill` and the balance changes it causes (see module docstring)."""
    delta = _signed(fill.side, fill.quantity)
    moved, pnl = _move(pos, delta, fill.price)
    if fill.fee_asset == fill.quote:
        moved = replace(moved, fees_paid=M.add(moved.fees_paid, fill.fee))
    changes: list[BalanceChange] = []
    if fill.kind is InstrumentKind.SPOT:
        value = M.multiply(fill.price, fill.quantity)
        changes.append(BalanceChange(fill.base, delta, "trade"))
        changes.append(BalanceChange(fill.quote, M.minus(value) if fill.side is Side.BUY
                                     else value, "trade"))
    elif pnl != 0:
        changes.append(BalanceChange(fill.quote, pnl, "pnl"))
    if fill.fee != 0:
        changes.append(BalanceChange(fill.fee_asset, M.minus(fill.fee), "fee"))
    return moved, changes


def unrealized(pos: PositionState, mark: Decimal | None) -> Decimal:
    if mark is None or pos.quantity == 0 or pos.average_entry is None:
        return ZERO
    return M.multiply(pos.quantity, M.subtract(mark, pos.average_entry))


# USD-M perpetual margin. Binance's first maintenance tier for BTCUSDT (notional up to
# 50,000 USDT) is 0.4% with a maintenance amount of 0; one flat rate is used for every
# notional, so a position beyond the first tier is shown with less maintenance than the
# exchange would ask (the settings let an operator pick a more prudent rate).
MAINTENANCE_RATE = Decimal("0.004")
MAX_LEVERAGE = 125


def initial_margin(quantity: Decimal, price: Decimal, leverage: int) -> Decimal:
    """Notional / leverage: what opening `quantity` at `price` ties up."""
    return M.divide(M.multiply(M.abs(quantity), price), Decimal(leverage))


def maintenance_margin(quantity: Decimal, price: Decimal,
                       rate: Decimal = MAINTENANCE_RATE) -> Decimal:
    """Notional × the maintenance rate: below this equity the position is liquidated."""
    return M.multiply(M.multiply(M.abs(quantity), price), rate)


def liquidation_price(quantity: Decimal, entry: Decimal | None, margin: Decimal,
                      rate: Decimal = MAINTENANCE_RATE) -> Decimal | None:
    """The mark at which `margin` plus the position's PnL falls to its maintenance margin.

    Solves margin + q·(P − entry) = |q|·P·rate for P (q signed), Binance's one-position
    formula with a maintenance amount of 0. `margin` is what backs the position: for
    isolated margin its initial margin (plus any added), for cross margin the wallet
    balance of the quote asset plus the other positions' unrealized PnL minus their
    maintenance. None when flat, or when no positive price liquidates (a long backed by
    more than its notional). A margin at or below maintenance gives a price on the wrong
    side of entry: the position is liquidatable now.
    """
    if quantity == 0 or entry is None:
        return None
    size = M.abs(quantity)
    side = Decimal(1) if quantity > 0 else Decimal(-1)
    price = M.divide(M.subtract(M.multiply(quantity, entry), margin),
                     M.multiply(size, M.subtract(side, rate)))
    return price if price > 0 else None
