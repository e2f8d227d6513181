"""Order checks: each bad input names its field and reason; good input passes."""

from __future__ import annotations

from decimal import Decimal as D  # noqa: N817  (amounts read better short)

import pytest

from argosy.kernel.errors import Invalid
from argosy.kernel.instruments import Instrument, InstrumentKind
from argosy.kernel.messages import Side
from argosy.kernel.money import Money, Price, Quantity
from argosy.kernel.orders import OrderType, TimeInForce
from argosy.services.trading.domain.checks import (
    OrderSpec,
    check_balance,
    check_reduce_only,
    check_shape,
    check_with_instrument,
    requirement,
)

# Binance spot BTCUSDT filters (venues/replay/exchange_info.py, from a real exchangeInfo)
SPOT = Instrument("binance", "BTCUSDT", "BTC", "USDT", InstrumentKind.SPOT, Price("0.01"),
                  Quantity("0.00001"), Quantity("0.00001"), Money("5", "USDT"),
                  Quantity("9000"))
PERP = Instrument("binance", "BTCUSDT", "BTC", "USDT", InstrumentKind.PERP, Price("0.1"),
                  Quantity("0.001"), Quantity("0.001"), Money("5", "USDT"), Quantity("1000"))


def spec(**kw: object) -> OrderSpec:
    base: dict[str, object] = {"side": Side.BUY, "type": OrderType.LIMIT,
                               "quantity": Quantity("0.001"), "price": Price("61837.63")}
    base.update(kw)
    return OrderSpec(**base)  # type: ignore[arg-type]


def field_of(fn: object, *args: object) -> tuple[str | None, str]:
    with pytest.raises(Invalid) as info:
        fn(*args)  # type: ignore[operator]
    return info.value.field, info.value.code


def test_instrument_filters_name_the_field() -> None:
    assert field_of(check_with_instrument, spec(price=Price("61837.635")), SPOT, None) == \
        ("price", "off_tick")
    assert field_of(check_with_instrument, spec(quantity=Quantity("0.000015")), SPOT, None) \
        == ("quantity", "off_lot")
    assert field_of(check_with_instrument, spec(quantity=Quantity("0.00001")), SPOT, None) \
        == ("quantity", "below_min_notional")
    market = spec(type=OrderType.MARKET, price=None, quantity=Quantity("0.00005"))
    assert field_of(check_with_instrument, market, SPOT, D("61837.63")) == \
        ("quantity", "below_min_notional")
    check_with_instrument(spec(), SPOT, None)


def test_shape_rules() -> None:
    assert field_of(check_shape, spec(price=None), 0)[0] == "price"
    assert field_of(check_shape, spec(type=OrderType.STOP_LIMIT), 0)[0] == "stop_price"
    assert field_of(check_shape, spec(type=OrderType.TRAILING_STOP, price=None), 0)[0] == \
        "trailing_bps"
    assert field_of(check_shape, spec(type=OrderType.POST_ONLY,
                                      time_in_force=TimeInForce.IOC), 0)[0] == "time_in_force"
    assert field_of(check_shape, spec(time_in_force=TimeInForce.GTD, expire_at_ns=5), 10)[0] \
        == "expire_at"
    check_shape(spec(time_in_force=TimeInForce.GTD, expire_at_ns=50), 10)


def test_reduce_only() -> None:
    assert field_of(check_with_instrument, spec(reduce_only=True), SPOT, None)[0] == \
        "reduce_only"
    sell = spec(side=Side.SELL, reduce_only=True, quantity=Quantity("0.002"))
    assert field_of(check_reduce_only, sell, D(0), D(0)) == ("reduce_only",
                                                             "reduce_only_increases")
    assert field_of(check_reduce_only, sell, D("0.001"), D(0))[0] == "quantity"
    check_reduce_only(sell, D("0.003"), D("0.001"))
    assert field_of(check_reduce_only, spec(reduce_only=True), D("0.01"), D(0))[0] == \
        "reduce_only"


def test_balance_requirement() -> None:
    need = requirement(spec(), SPOT, D("61837.63"), 1)
    assert need is not None
    assert need.asset == "USDT"
    assert need.amount == D("61.83763")
    assert field_of(check_balance, need, D("61.8")) == ("quantity", "insufficient_balance")
    check_balance(need, D("61.83763"))
    sell = requirement(spec(side=Side.SELL), SPOT, D(1), 1)
    assert sell is not None
    assert sell.asset == "BTC"
    assert sell.amount == D("0.001")
    margin = requirement(spec(price=Price("60000")), PERP, D(60000), 5)
    assert margin is not None
    assert margin.amount == D(12)
    assert requirement(spec(reduce_only=True, price=Price("60000")), PERP, D(60000), 1) is None
