"""Round trips and the strategy's portfolio from fills, including a flip through zero."""

from __future__ import annotations

from decimal import Decimal

from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import Liquidity, VenueFill
from argosy.services.strategy.domain.portfolio import Portfolio
from argosy.services.strategy.domain.roundtrips import round_trips

D = Decimal
BTC = InstrumentId.parse("BTC-USDT-PERP.binance")


def _fill(n: int, side: Side, price: str, qty: str, fee: str = "0") -> VenueFill:
    return VenueFill(f"f{n}", f"c{n}", f"o{n}", BTC, side, Price(price), Quantity(qty),
                     Quantity(fee), "USDT", Liquidity.TAKER, n)


def test_long_then_flip_short_then_flat() -> None:
    fills = [_fill(1, Side.BUY, "100", "2", "0.2"), _fill(2, Side.BUY, "110", "2", "0.22"),
             _fill(3, Side.SELL, "120", "6", "0.72"), _fill(4, Side.BUY, "115", "2", "0.23")]
    trips = round_trips(fills)
    assert [t.direction for t in trips] == ["long", "short"]
    long, short = trips
    assert long.entry_price == D(105)
    assert long.exit_price == D(120)
    assert long.quantity == D(4)
    assert long.pnl == D(60) - (D("0.42") + D("0.48"))  # a third of the flip's fee is short's
    assert short.quantity == D(2)
    assert short.entry_price == D(120)
    assert short.pnl == D(10) - (D("0.24") + D("0.23"))
    assert short.exit_ns == 4

    portfolio = Portfolio()
    for f in fills:
        portfolio.apply(f)
    assert portfolio.quantity(str(BTC)) == 0
    assert portfolio.realized() == D(60) + D(10)
    assert portfolio.fees_paid() == D("1.37")
    assert portfolio.cash_flow["USDT"] == D(70) - D("1.37")


def test_an_open_trip_has_no_exit() -> None:
    trips = round_trips([_fill(1, Side.SELL, "100", "1")])
    assert trips[0].direction == "short"
    assert trips[0].pnl is None
    assert trips[0].as_dict()["exit_price"] is None
