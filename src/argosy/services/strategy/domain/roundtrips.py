"""Round trips (trades) from fills: flat -> position -> flat, per instrument.

A backtest's result lists trades the way a trader reads them; the fills stay the record
of truth. A fill that flips the position closes one trip and opens the next with the rest.
PnL is net of the fees of every fill in the trip; the return is against the entry
notional. Decimal arithmetic: these numbers are shown next to the fills.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from argosy.kernel.messages import Side
from argosy.kernel.money import MONEY_CONTEXT
from argosy.kernel.orders import VenueFill

__all__ = ["RoundTrip", "round_trips"]

_ZERO = Decimal(0)


@dataclass
class RoundTrip:
    instrument_id: str
    direction: str  # "long" or "short"
    entry_ns: int
    quantity: Decimal = _ZERO  # largest absolute position in the trip
    entry_notional: Decimal = _ZERO
    entry_qty: Decimal = _ZERO
    exit_notional: Decimal = _ZERO
    exit_qty: Decimal = _ZERO
    fees: Decimal = _ZERO
    exit_ns: int | None = None
    fills: list[str] = field(default_factory=list)

    @property
    def entry_price(self) -> Decimal:
        return MONEY_CONTEXT.divide(self.entry_notional, self.entry_qty)

    @property
    def exit_price(self) -> Decimal | None:
        return MONEY_CONTEXT.divide(self.exit_notional, self.exit_qty) if self.exit_qty \
            else None

    @property
    def pnl(self) -> Decimal | None:
        if self.exit_ns is None:
            return None
        gross = self.exit_notional - self.entry_notional
        return (gross if self.direction == "long" else -gross) - self.fees

    @property
    def return_(self) -> float | None:
        pnl = self.pnl
        return float(pnl / self.entry_notional) if pnl is not None and self.entry_notional \
            else None

    def as_dict(self) -> dict[str, object]:
        exit_price, pnl = self.exit_price, self.pnl
        return {"instrument_id": self.instrument_id, "direction": self.direction,
                "entry_ns": self.entry_ns, "exit_ns": self.exit_ns,
                "quantity": str(self.quantity), "entry_price": str(self.entry_price),
                "exit_price": str(exit_price) if exit_price is not None else None,
                "fees": str(self.fees), "pnl": str(pnl) if pnl is not None else None,
                "return": self.return_, "fills": len(self.fills)}


def round_trips(fills: list[VenueFill]) -> list[RoundTrip]:
    """Every trip in entry order; the last one per instrument may still be open."""
    open_: dict[str, tuple[RoundTrip, Decimal]] = {}
    done: list[RoundTrip] = []
    for f in fills:
        key = str(f.instrument_id)
        qty, price, fee = f.quantity.value, f.price.value, f.fee.value
        signed = qty if f.side is Side.BUY else -qty
        trip, held = open_.get(key, (None, _ZERO))
        if trip is None:
            trip = RoundTrip(key, "long" if signed > 0 else "short", f.ts_ns)
            done.append(trip)
        adding = held == 0 or (held > 0) == (signed > 0)
        step = qty if adding else min(qty, abs(held))
        share = fee * step / qty
        trip.fees += share
        trip.fills.append(f.fill_id)
        if adding:
            trip.entry_notional += price * step
            trip.entry_qty += step
        else:
            trip.exit_notional += price * step
            trip.exit_qty += step
        held += signed if adding else (step if signed > 0 else -step)
        trip.quantity = max(trip.quantity, abs(held))
        if held == 0:
            trip.exit_ns = f.ts_ns
            open_.pop(key, None)
            rest = qty - step
            if rest:  # the fill flipped the position: the rest opens a new trip
                new = RoundTrip(key, "long" if signed > 0 else "short", f.ts_ns,
                                rest, price * rest, rest, fees=fee - share)
                new.fills.append(f.fill_id)
                done.append(new)
                open_[key] = (new, rest if signed > 0 else -rest)
        else:
            open_[key] = (trip, held)
    return done
