"""Shared by the paper venue tests: two instruments, a venue factory, message builders."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from argosy.kernel.clock import SimClock
from argosy.kernel.instruments import Instrument, InstrumentKind
from argosy.kernel.messages import BookDelta, Side, TradeTick
from argosy.kernel.money import Money, Price, Quantity
from argosy.kernel.orders import OrderRequest, OrderType, TimeInForce
from argosy.venues.paper import FeeSchedule, PaperSettings, PaperVenue

SPOT = Instrument("binance", "BTCUSDT", "BTC", "USDT", InstrumentKind.SPOT, Price("0.01"),
                  Quantity("0.00001"), Quantity("0.00001"), Money("5", "USDT"))
PERP = Instrument("binance", "BTCUSDT", "BTC", "USDT", InstrumentKind.PERP, Price("0.1"),
                  Quantity("0.001"), Quantity("0.001"), Money("5", "USDT"))
FEES = FeeSchedule(Decimal("1"), Decimal("5"))  # 1 bps maker, 5 bps taker

MakeVenue = Callable[..., PaperVenue]


def venue_factory(clock: SimClock) -> MakeVenue:
    def make(balances: dict[str, str] | None = None, book: bool = True, **kw: Any
             ) -> PaperVenue:
        settings = PaperSettings(
            fees={str(SPOT.id): FEES, str(PERP.id): FEES},
            starting_balances={k: Decimal(v) for k, v in
                               (balances or {"USDT": "100000", "BTC": "1"}).items()},
            **kw)
        venue = PaperVenue("paper", {SPOT.id: SPOT, PERP.id: PERP}, clock, settings)
        if book:
            for inst in (SPOT, PERP):
                venue.on_book_snapshot(
                    inst.id,
                    [(Price("100"), Quantity("1")), (Price("99"), Quantity("2")),
                     (Price("98"), Quantity("3"))],
                    [(Price("101"), Quantity("1")), (Price("102"), Quantity("2")),
                     (Price("103"), Quantity("3"))],
                    clock.now_ns())
        return venue
    return make


_ids = iter(range(1, 10**9))


def order(side: str = "buy", kind: str = "limit", qty: str = "0.5", price: str | None = None,
          inst: Instrument = SPOT, **kw: Any) -> OrderRequest:
    return OrderRequest(
        client_order_id=kw.pop("cid", f"c{next(_ids)}"), instrument_id=inst.id,
        side=Side(side), type=OrderType(kind), quantity=Quantity(qty),
        price=Price(price) if price is not None else None,
        stop_price=Price(kw.pop("stop")) if "stop" in kw else None,
        time_in_force=TimeInForce(kw.pop("tif", "gtc")), **kw)


def trade(price: str, qty: str, aggressor: str, ts: int, inst: Instrument = SPOT) -> TradeTick:
    return TradeTick(inst.id, Price(price), Quantity(qty), Side(aggressor), f"t{ts}", ts, ts)


def delta(side: str, price: str, qty: str, ts: int, inst: Instrument = SPOT) -> BookDelta:
    return BookDelta(inst.id, Side(side), Price(price), Quantity(qty), ts, ts, ts)
