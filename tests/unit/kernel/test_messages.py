"""Messages survive the wire unchanged, and bad wire data names the offending key."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from argosy.kernel.errors import Invalid
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import (
    Bar,
    BookDelta,
    Interval,
    Message,
    QuoteTick,
    Side,
    TradeTick,
    from_dict,
    to_dict,
)
from argosy.kernel.money import Price, Quantity

BTC = InstrumentId.parse("BTC-USDT.binance")
ETH_PERP = InstrumentId.parse("ETH-USDT-PERP.binance")
T0 = 1_700_000_000_000_000_000

MESSAGES: list[Message] = [
    TradeTick(BTC, Price("43000.10"), Quantity("0.00150"), Side.BUY, "123456", T0, T0 + 5),
    QuoteTick(ETH_PERP, Price("2250.5"), Quantity("3"), Price("2250.51"), Quantity("0"), T0, T0),
    Bar(
        BTC,
        Interval.M1,
        Price("100"),
        Price("101.5"),
        Price("99"),
        Price("100.25"),
        Quantity("12.5"),
        T0,
        T0 + Interval.M1.ns,
    ),
    BookDelta(BTC, Side.SELL, Price("43001"), Quantity("0"), 987654321, T0, T0 + 1),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_messages_round_trip_through_json(message: Message) -> None:
    wire = json.loads(json.dumps(to_dict(message)))
    assert from_dict(wire) == message
    assert all(isinstance(value, str | int) for value in wire.values())


prices = st.decimals(min_value=0, max_value=10**9, places=8).map(Price)
quantities = st.decimals(min_value=0, max_value=10**9, places=8).map(Quantity)
timestamps = st.integers(min_value=0, max_value=2**63 - 1)


@given(prices, quantities, st.sampled_from(Side), st.text(min_size=1), timestamps, timestamps)
def test_trade_ticks_round_trip(
    price: Price, qty: Quantity, side: Side, trade_id: str, event: int, recv: int
) -> None:
    trade = TradeTick(BTC, price, qty, side, trade_id, event, recv)
    assert from_dict(json.loads(json.dumps(to_dict(trade)))) == trade


def test_wire_form_uses_strings_for_decimals() -> None:
    wire = to_dict(MESSAGES[0])
    assert wire == {
        "type": "trade",
        "instrument_id": "BTC-USDT.binance",
        "price": "43000.1",
        "quantity": "0.0015",
        "aggressor_side": "buy",
        "trade_id": "123456",
        "ts_event_ns": T0,
        "ts_recv_ns": T0 + 5,
    }


def _broken(change: dict[str, object], drop: str | None = None) -> dict[str, object]:
    wire: dict[str, object] = {**to_dict(MESSAGES[0]), **change}
    if drop:
        del wire[drop]
    return wire


@pytest.mark.parametrize(
    ("wire", "field"),
    [
        (_broken({}, drop="price"), "price"),
        (_broken({"price": 43000.1}), "price"),
        (_broken({"price": "abc"}), "price"),
        (_broken({"quantity": "-1"}), "quantity"),
        (_broken({"ts_event_ns": True}), "ts_event_ns"),
        (_broken({"ts_recv_ns": "1"}), "ts_recv_ns"),
        (_broken({"aggressor_side": "long"}), "aggressor_side"),
        (_broken({"instrument_id": "BTCUSDT"}), "instrument_id"),
        (_broken({"trade_id": ""}), "trade_id"),
        (_broken({"type": "candle"}), "type"),
        (_broken({}, drop="type"), "type"),
    ],
)
def test_bad_wire_data_names_the_key(wire: dict[str, object], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        from_dict(wire)
    assert caught.value.field == field


def test_inconsistent_bars_are_refused() -> None:
    bar = MESSAGES[2]
    assert isinstance(bar, Bar)
    with pytest.raises(Invalid):
        dataclasses.replace(bar, high=Price("99.5"))
    with pytest.raises(Invalid):
        dataclasses.replace(bar, ts_close_ns=bar.ts_open_ns)


def test_messages_are_immutable() -> None:
    trade = MESSAGES[0]
    assert isinstance(trade, TradeTick)
    with pytest.raises(dataclasses.FrozenInstanceError):
        trade.price = Price("1")  # type: ignore[misc]
    assert hash(MESSAGES[0]) == hash(from_dict(to_dict(MESSAGES[0])))


def test_intervals() -> None:
    assert Interval.parse("15m") is Interval.M15
    assert [i.seconds for i in Interval] == [1, 60, 300, 900, 3600, 14400, 86400]
    assert Interval.H4.ns == 4 * 3600 * 10**9
    assert Interval.M5.floor_ns(T0 + 301 * 10**9) == T0 + 300 * 10**9 - T0 % Interval.M5.ns
    assert Interval.D1.floor_ns(86_400 * 10**9 + 1) == 86_400 * 10**9
    with pytest.raises(Invalid) as caught:
        Interval.parse("2m")
    assert caught.value.field == "interval"


def test_side_opposite() -> None:
    assert Side.BUY.opposite is Side.SELL
    assert Side.SELL.opposite is Side.BUY
