"""Order quantities round to the venue's lot the same way in a backtest and live.

Live instruments carry Binance's filters, where a lot is written "0.00001000" (eight
decimals, a step of 1e-5) and some lots are not powers of ten; `quantize` would keep eight
decimals and the trading service would refuse the order as not a multiple of the lot."""

from __future__ import annotations

from decimal import Decimal

import pytest

from argosy.kernel.clock import SimClock
from argosy.kernel.instruments import Instrument, InstrumentId, InstrumentKind
from argosy.kernel.messages import Side
from argosy.kernel.money import Money, Price, Quantity
from argosy.services.strategy.domain.strategy import StrategyContext, floor_to_step
from tests.integration.trading._market import instrument_rows

D = Decimal


@pytest.mark.parametrize(("quantity", "step", "expected"), [
    (D("0.01584341"), D("0.00001000"), D("0.01584")),
    (D("1.7"), D("0.5"), D("1.5")),
    (D("3"), D("1"), D("3")),
    (D("0.49"), D("0.5"), D("0")),
    (D("-1"), D("0.1"), D("0")),
    (D("0.123456789012345"), D("0.000000000001"), D("0.123456789012")),
])
def test_floor_to_step(quantity: Decimal, step: Decimal, expected: Decimal) -> None:
    got = floor_to_step(quantity, step)
    assert got == expected
    assert (got / step) == (got / step).to_integral_value()


class _Port:
    def __init__(self) -> None:
        self.sent: list[object] = []

    def submit(self, order: object) -> None:
        self.sent.append(order)


def test_orders_use_the_venue_lot_of_the_recorded_exchange_info() -> None:
    row = next(r for r in instrument_rows() if r["kind"] == "spot")
    assert row["lot_size"] == "0.00001000"  # Binance's own spelling
    iid = InstrumentId.parse(row["instrument_id"])
    instrument = Instrument(row["venue"], row["symbol"], row["base"], row["quote"],
                            InstrumentKind(row["kind"]), Price(row["tick_size"]),
                            Quantity(row["lot_size"]), Quantity(row["min_qty"]),
                            Money(row["min_notional"], row["quote"]))
    port = _Port()
    ctx = StrategyContext({iid: instrument}, port, SimClock(0))  # type: ignore[arg-type]
    assert ctx.submit(iid, Side.BUY, D("0.01584341")) == "s1"
    order = port.sent[0]
    assert order.quantity.value == D("0.01584")  # type: ignore[attr-defined]
    assert ctx.submit(iid, Side.BUY, D("0.000009")) is None  # below one lot: nothing sent
