"""Accounts on the fake exchange: API keys, spot balances, USD-M wallet and positions.

Spot balances are split into free and locked exactly as Binance reports them: a resting
buy locks `price * quantity` of the quote asset, a resting sell locks the quantity of the
base asset, and a fill or cancel moves the locked amount back. Commission is charged in
the asset received (base on a buy, quote on a sell), as on an account without BNB fee
discount. The USD-M wallet is one margin asset (USDT) in one-way position mode with cross
margin: a fill moves the position and its average entry, a reducing fill realizes PnL into
the wallet, every fill pays its fee from the wallet. Every amount is a Decimal.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["ApiKey", "FuturesPosition", "SpotBalance", "TradingAccount"]

ZERO = Decimal(0)


@dataclass(slots=True)
class SpotBalance:
    free: Decimal = ZERO
    locked: Decimal = ZERO


@dataclass(slots=True)
class FuturesPosition:
    amount: Decimal = ZERO  # signed: > 0 long, < 0 short
    entry: Decimal = ZERO
    leverage: int = 20
    realized: Decimal = ZERO
    update_ms: int = 0

    def apply(self, signed_qty: Decimal, price: Decimal) -> Decimal:
        """Add a fill of `signed_qty` at `price`; the PnL it realizes."""
        old = self.amount
        new = old + signed_qty
        realized = ZERO
        if old == 0 or (old > 0) == (signed_qty > 0):  # opening or adding
            self.entry = (abs(old) * self.entry + abs(signed_qty) * price) / abs(new)
        else:
            closed = min(abs(old), abs(signed_qty))
            direction = 1 if old > 0 else -1
            realized = (price - self.entry) * closed * direction
            if new == 0:
                self.entry = ZERO
            elif (new > 0) != (old > 0):  # flipped: the rest opens at the fill price
                self.entry = price
        self.amount = new
        self.realized += realized
        return realized


@dataclass(frozen=True, slots=True)
class ApiKey:
    key: str
    secret: str
    account: str


@dataclass(slots=True)
class TradingAccount:
    name: str
    spot: dict[str, SpotBalance] = field(default_factory=lambda: defaultdict(SpotBalance))
    wallet: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    positions: dict[str, FuturesPosition] = field(default_factory=dict)

    def position(self, symbol: str) -> FuturesPosition:
        return self.positions.setdefault(symbol, FuturesPosition())

    def lock(self, asset: str, amount: Decimal) -> bool:
        """Move `amount` from free to locked; False (nothing moved) when short."""
        balance = self.spot[asset]
        if balance.free < amount:
            return False
        balance.free -= amount
        balance.locked += amount
        return True

    def unlock(self, asset: str, amount: Decimal) -> None:
        balance = self.spot[asset]
        balance.locked -= amount
        balance.free += amount
