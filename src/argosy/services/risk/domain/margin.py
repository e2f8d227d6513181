"""Margin figures of a set of holdings: margin used, margin usage, closest liquidation.

Why here and not in the trading engine: the risk view aggregates accounts per user and org,
so it needs the figures per holding, summed the same way as gross and net.

Margin used is the initial margin of the perpetuals, |quantity| x mark / leverage, with the
leverage the trading service put on the position event. Spot positions are paid in full
from the balances, so they use no margin. A perpetual whose leverage is not known yet (a
fill applied before its position event, or a position loaded at start-up, since leverage is
not stored) counts at 1x: over-stating margin is the safe side of a risk figure.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Protocol

from argosy.kernel.money import MONEY_CONTEXT

__all__ = ["MarginHolding", "liquidation_distance", "margin_usage", "margin_used"]

_ZERO = Decimal(0)


class MarginHolding(Protocol):
    @property
    def perp(self) -> bool: ...

    quantity: Decimal
    average_entry: Decimal | None
    mark: Decimal | None
    leverage: int | None
    liquidation_price: Decimal | None


def margin_used(holdings: Iterable[MarginHolding]) -> Decimal:
    """Sum of |quantity| x price / leverage over perpetuals (price: mark, else entry)."""
    total = _ZERO
    for h in holdings:
        price = h.mark if h.mark is not None else h.average_entry
        if not h.perp or h.quantity == 0 or price is None:
            continue
        leverage = Decimal(h.leverage) if h.leverage and h.leverage > 0 else Decimal(1)
        notional = MONEY_CONTEXT.multiply(abs(h.quantity), price)
        total = MONEY_CONTEXT.add(total, MONEY_CONTEXT.divide(notional, leverage))
    return total


def margin_usage(used: Decimal, equity: Decimal) -> Decimal | None:
    """Margin used / equity; None without positive equity (no meaningful share of it)."""
    if equity <= 0:
        return None
    return MONEY_CONTEXT.divide(used, equity)


def liquidation_distance(holdings: Iterable[MarginHolding]) -> Decimal | None:
    """Smallest |mark - liquidation price| / mark over open positions that have both;
    None when no position has a liquidation price (spot, or not told yet)."""
    closest: Decimal | None = None
    for h in holdings:
        if h.quantity == 0 or h.liquidation_price is None or h.mark is None or h.mark <= 0:
            continue
        gap = abs(MONEY_CONTEXT.subtract(h.mark, h.liquidation_price))
        distance = MONEY_CONTEXT.divide(gap, h.mark)
        if closest is None or distance < closest:
            closest = distance
    return closest
