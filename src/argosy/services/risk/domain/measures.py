"""Equity marks over time (peak, day start, return intervals) and the measures built on
them: drawdown from peak, today's PnL, historical VaR and expected shortfall.

VaR and ES are historical: the account's own stored interval returns, no distribution
assumed. With fewer than `MIN_RETURNS` returns there is no honest estimate, so none is
given (None), rather than a number that looks precise and is not.
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from argosy.kernel.money import MONEY_CONTEXT

__all__ = ["MIN_RETURNS", "NS_PER_DAY", "EquityMarks", "drawdown", "historical_var", "roll"]

NS_PER_DAY = 86_400 * 1_000_000_000
MIN_RETURNS = 10
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class EquityMarks:
    peak_equity: Decimal
    day: int
    day_start_equity: Decimal
    last_return_equity: Decimal
    last_return_ns: int

    @classmethod
    def start(cls, equity: Decimal, now_ns: int) -> EquityMarks:
        return cls(equity, now_ns // NS_PER_DAY, equity, equity, now_ns)

    def day_pnl(self, equity: Decimal) -> Decimal:
        return MONEY_CONTEXT.subtract(equity, self.day_start_equity)


def roll(
    marks: EquityMarks, equity: Decimal, now_ns: int, interval_ns: int
) -> tuple[EquityMarks, Decimal | None]:
    """Advance the marks to `now`; returns the new marks and a completed return, if any."""
    out = marks
    if equity > marks.peak_equity:
        out = replace(out, peak_equity=equity)
    day = now_ns // NS_PER_DAY
    if day != marks.day:
        out = replace(out, day=day, day_start_equity=equity)
    ret: Decimal | None = None
    if now_ns - marks.last_return_ns >= interval_ns:
        if marks.last_return_equity > 0:
            ret = MONEY_CONTEXT.divide(equity, marks.last_return_equity) - 1
        out = replace(out, last_return_equity=equity, last_return_ns=now_ns)
    return out, ret


def drawdown(marks: EquityMarks, equity: Decimal) -> Decimal:
    """Fraction of peak equity lost, 0..1; zero while the peak is not positive."""
    peak = max(marks.peak_equity, equity)
    if peak <= 0:
        return _ZERO
    return max(_ZERO, MONEY_CONTEXT.divide(MONEY_CONTEXT.subtract(peak, equity), peak))


def historical_var(
    returns: Sequence[Decimal], equity: Decimal, level: float = 0.95
) -> tuple[Decimal, Decimal] | None:
    """(VaR, ES) at `level` as positive amounts of equity at risk over one interval."""
    if len(returns) < MIN_RETURNS or equity <= 0:
        return None
    ordered = sorted(returns)
    # Decimal, not float: 20 * (1 - 0.9) is 1.9999999999999996 in binary floating point.
    tail_share = 1 - Decimal(str(level))
    cut = max(1, int((len(ordered) * tail_share).to_integral_value(decimal.ROUND_FLOOR)))
    tail = ordered[:cut]
    var_return = ordered[cut - 1]
    es_return = MONEY_CONTEXT.divide(sum(tail, _ZERO), Decimal(len(tail)))
    var = max(_ZERO, MONEY_CONTEXT.multiply(-var_return, equity))
    es = max(_ZERO, MONEY_CONTEXT.multiply(-es_return, equity))
    return var, es
