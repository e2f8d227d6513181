"""A strategy's own positions, built from its own fills.

Why the strategy keeps its own book rather than asking the account: live, an account is
shared with manual orders and other deployments, and a round trip to the trading service
per bar is too slow; in a backtest the account is the paper venue. Built from fills alone,
the same code gives the same positions in both, which is what parity is about.

Money is Decimal (the fills' own values); `mark_value` is float because it feeds the
equity curve, an analytics series.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from argosy.kernel.messages import Side
from argosy.kernel.money import MONEY_CONTEXT
from argosy.kernel.orders import VenueFill

__all__ = ["Holding", "Portfolio"]

_ZERO = Decimal(0)


@dataclass(slots=True)
class Holding:
    """Signed quantity (positive long), average entry, realized PnL and fees paid."""

    quantity: Decimal = _ZERO
    entry: Decimal = _ZERO
    realized: Decimal = _ZERO
    fees: Decimal = _ZERO
    fills: int = 0

    def apply(self, signed: Decimal, price: Decimal, fee: Decimal) -> Decimal:
        """Add one fill; returns the PnL it realized (before fees)."""
        ctx = MONEY_CONTEXT
        self.fills += 1
        self.fees = ctx.add(self.fees, fee)
        held = self.quantity
        if held == 0 or (held > 0) == (signed > 0):
            total = ctx.add(held, signed)
            self.entry = ctx.divide(ctx.add(ctx.multiply(self.entry, abs(held)),
                                            ctx.multiply(price, abs(signed))), abs(total))
            self.quantity = total
            return _ZERO
        closing = min(abs(signed), abs(held))
        move = ctx.subtract(price, self.entry) if held > 0 else ctx.subtract(self.entry, price)
        pnl = ctx.multiply(move, closing)
        self.realized = ctx.add(self.realized, pnl)
        total = ctx.add(held, signed)
        if total == 0:
            self.entry = _ZERO
        elif (total > 0) != (held > 0):
            self.entry = price
        self.quantity = total
        return pnl


class Portfolio:
    """Holdings per instrument id string, and the cash flows of the fills per asset."""

    __slots__ = ("cash_flow", "holdings")

    def __init__(self) -> None:
        self.holdings: dict[str, Holding] = {}
        self.cash_flow: dict[str, Decimal] = {}  # quote spent (-) or received (+), fees in

    def apply(self, fill: VenueFill) -> Holding:
        key = str(fill.instrument_id)
        holding = self.holdings.get(key)
        if holding is None:
            holding = self.holdings[key] = Holding()
        qty, price, fee = fill.quantity.value, fill.price.value, fill.fee.value
        signed = qty if fill.side is Side.BUY else -qty
        holding.apply(signed, price, fee)
        ctx = MONEY_CONTEXT
        flow = ctx.multiply(price, qty)
        delta = ctx.minus(flow) if fill.side is Side.BUY else flow
        asset = fill.fee_asset
        self.cash_flow[asset] = ctx.subtract(ctx.add(self.cash_flow.get(asset, _ZERO), delta),
                                             fee)
        return holding

    def quantity(self, instrument_id: str) -> Decimal:
        holding = self.holdings.get(instrument_id)
        return holding.quantity if holding is not None else _ZERO

    def fees_paid(self) -> Decimal:
        return sum((h.fees for h in self.holdings.values()), _ZERO)

    def realized(self) -> Decimal:
        return sum((h.realized for h in self.holdings.values()), _ZERO)
