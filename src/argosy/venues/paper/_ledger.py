"""Balances per asset and perpetual positions: where every fill's money goes.

Spot: an order locks what it may spend (quote for buys, including the worst fee; base for
sells) so two orders can never spend the same balance; a fill pays from the lock and the
rest of the lock is released when the order ends. Perpetuals: the quote balance is the
wallet; fills change a signed position with an average entry, closing size realizes PnL
into the wallet, and fees leave it. All arithmetic is exact Decimal in `MONEY_CONTEXT`, so
balances tie out with the fills to the last digit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from argosy.kernel.money import MONEY_CONTEXT

__all__ = ["PNL_STEP", "Ledger", "PerpPosition", "PositionView"]

_ZERO = Decimal(0)
PNL_STEP = Decimal("1e-12")
_add = MONEY_CONTEXT.add
_sub = MONEY_CONTEXT.subtract
_mul = MONEY_CONTEXT.multiply
_div = MONEY_CONTEXT.divide


class PerpPosition:
    """A signed position (positive long) with its average entry and running totals."""

    __slots__ = ("entry", "fees", "leverage", "quantity", "quote", "realized")

    def __init__(self, quote: str, leverage: int) -> None:
        self.quote = quote
        self.leverage = leverage
        self.quantity = _ZERO
        self.entry = _ZERO
        self.realized = _ZERO
        self.fees = _ZERO

    def apply(self, signed_qty: Decimal, price: Decimal) -> Decimal:
        """Add a fill; returns the PnL it realized (closing size x move from entry)."""
        held = self.quantity
        if held == 0 or (held > 0) == (signed_qty > 0):
            total = _add(held, signed_qty)
            self.entry = _div(_add(_mul(self.entry, abs(held)), _mul(price, abs(signed_qty))),
                              abs(total))
            self.quantity = total
            return _ZERO
        closing = min(abs(signed_qty), abs(held))
        move = _sub(price, self.entry) if held > 0 else _sub(self.entry, price)
        # the average entry can have endless digits: round each realized amount once, so
        # the wallet is exactly the sum of the amounts the fills report
        pnl = _mul(move, closing).quantize(PNL_STEP, context=MONEY_CONTEXT)
        self.realized = _add(self.realized, pnl)
        total = _add(held, signed_qty)
        if total == 0:
            self.entry = _ZERO
        elif (total > 0) != (held > 0):
            self.entry = price  # flipped: the rest opens at this fill's price
        self.quantity = total
        return pnl

    def margin(self) -> Decimal:
        return _div(_mul(abs(self.quantity), self.entry), self.leverage)

    def unrealized(self, mark: Decimal) -> Decimal:
        return _mul(_sub(mark, self.entry), self.quantity)


@dataclass(frozen=True, slots=True)
class PositionView:
    """A position as reported to callers: signed quantity, entry, realized PnL, fees."""

    instrument_id: str
    quantity: Decimal
    entry_price: Decimal
    realized_pnl: Decimal
    fees: Decimal
    leverage: int
    margin: Decimal


class Ledger:
    """Free and locked amounts per asset, and perpetual positions by instrument id string."""

    __slots__ = ("free", "locked", "positions")

    def __init__(self, starting: dict[str, Decimal]) -> None:
        self.free: dict[str, Decimal] = dict(starting)
        self.locked: dict[str, Decimal] = {}
        self.positions: dict[str, PerpPosition] = {}

    def total(self, asset: str) -> Decimal:
        return _add(self.free.get(asset, _ZERO), self.locked.get(asset, _ZERO))

    def can_lock(self, asset: str, amount: Decimal) -> bool:
        return self.free.get(asset, _ZERO) >= amount

    def lock(self, asset: str, amount: Decimal) -> None:
        self.free[asset] = _sub(self.free.get(asset, _ZERO), amount)
        self.locked[asset] = _add(self.locked.get(asset, _ZERO), amount)

    def release(self, asset: str, amount: Decimal) -> None:
        if amount:
            self.locked[asset] = _sub(self.locked[asset], amount)
            self.free[asset] = _add(self.free.get(asset, _ZERO), amount)

    def pay(self, asset: str, amount: Decimal, from_lock: Decimal) -> Decimal:
        """Spend `amount`, first from up to `from_lock` locked; returns what the lock gave."""
        taken = min(amount, from_lock)
        if taken:
            self.locked[asset] = _sub(self.locked[asset], taken)
        rest = _sub(amount, taken)
        if rest:
            self.free[asset] = _sub(self.free.get(asset, _ZERO), rest)
        return taken

    def receive(self, asset: str, amount: Decimal) -> None:
        self.free[asset] = _add(self.free.get(asset, _ZERO), amount)

    def position(self, key: str, quote: str, leverage: int) -> PerpPosition:
        found = self.positions.get(key)
        if found is None:
            found = self.positions[key] = PerpPosition(quote, leverage)
        return found

    def margin_used(self, quote: str) -> Decimal:
        used = _ZERO
        for position in self.positions.values():
            if position.quote == quote and position.quantity:
                used = _add(used, position.margin())
        return used
