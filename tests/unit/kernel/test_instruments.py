"""Instrument ids parse back to themselves; order validation rejects what the venue would."""

from __future__ import annotations

import decimal

import pytest

from argosy.kernel.errors import Invalid
from argosy.kernel.instruments import Instrument, InstrumentId, InstrumentKind
from argosy.kernel.money import Money, Price, Quantity


def _instrument(**overrides: object) -> Instrument:
    fields: dict[str, object] = {
        "venue": "binance",
        "symbol": "BTCUSDT",
        "base": "BTC",
        "quote": "USDT",
        "kind": InstrumentKind.SPOT,
        "tick_size": Price("0.01"),
        "lot_size": Quantity("0.001"),
        "min_qty": Quantity("0.002"),
        "min_notional": Money("10", "USDT"),
        "max_qty": Quantity("100"),
    }
    fields.update(overrides)
    return Instrument(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("BTC-USDT.binance", InstrumentKind.SPOT),
        ("BTC-USDT-PERP.binance", InstrumentKind.PERP),
        ("1000SHIB-USDT-PERP.binance_futures", InstrumentKind.PERP),
    ],
)
def test_ids_parse_and_print_back(text: str, kind: InstrumentKind) -> None:
    parsed = InstrumentId.parse(text)
    assert parsed.kind is kind
    assert str(parsed) == text
    assert InstrumentId.parse(str(parsed)) == parsed


@pytest.mark.parametrize(
    "text",
    [
        "",
        "BTCUSDT",
        "BTC-USDT",
        "BTC-USDT.",
        ".binance",
        "BTC.binance",
        "BTC-USDT-SWAP.binance",
        "BTC-USDT-PERP-X.binance",
        "btc-usdt.binance",
        "BTC-USDT.Binance",
        "BTC--USDT.binance",
        "BTC-USDT.bin.ance",
        " BTC-USDT.binance",
    ],
)
def test_malformed_ids_are_invalid_and_name_the_field(text: str) -> None:
    with pytest.raises(Invalid) as caught:
        InstrumentId.parse(text)
    assert caught.value.field == "instrument_id"
    with pytest.raises(Invalid) as caught:
        InstrumentId.parse(text, field="instrument")
    assert caught.value.field == "instrument"


def test_non_string_ids_are_invalid() -> None:
    with pytest.raises(Invalid):
        InstrumentId.parse(42)  # type: ignore[arg-type]


def test_instrument_exposes_its_canonical_id() -> None:
    assert str(_instrument().id) == "BTC-USDT.binance"
    perp = _instrument(kind=InstrumentKind.PERP)
    assert str(perp.id) == "BTC-USDT-PERP.binance"
    assert perp.id.symbol == "BTC-USDT-PERP"
    assert perp.id != "BTC-USDT-PERP.binance"  # type: ignore[comparison-overlap]


def test_exact_minimum_notional_passes_and_one_tick_below_fails() -> None:
    instrument = _instrument()
    instrument.validate_order(Price("100.00"), Quantity("0.1"))  # 10.000 USDT exactly
    with pytest.raises(Invalid) as caught:
        instrument.validate_order(Price("99.99"), Quantity("0.1"))
    assert caught.value.field == "quantity"
    assert caught.value.code == "below_min_notional"


def test_off_tick_price_names_price() -> None:
    with pytest.raises(Invalid) as caught:
        _instrument().validate_order(Price("100.005"), Quantity("1"))
    assert (caught.value.field, caught.value.code) == ("price", "off_tick")
    assert caught.value.details == {"tick_size": "0.01"}


@pytest.mark.parametrize("price", ["0", "-1"])
def test_non_positive_price_names_price(price: str) -> None:
    with pytest.raises(Invalid) as caught:
        _instrument().validate_order(Price(price), Quantity("1"))
    assert caught.value.field == "price"


@pytest.mark.parametrize(
    ("quantity", "code"),
    [
        ("0", "zero_quantity"),
        ("0.0015", "off_lot"),
        ("0.001", "below_min_qty"),
        ("100.001", "above_max_qty"),
    ],
)
def test_bad_quantities_name_quantity(quantity: str, code: str) -> None:
    with pytest.raises(Invalid) as caught:
        _instrument().validate_order(Price("50000"), Quantity(quantity))
    assert (caught.value.field, caught.value.code) == ("quantity", code)


def test_boundaries_of_quantity_limits_pass() -> None:
    instrument = _instrument()
    instrument.validate_order(Price("50000"), Quantity("0.002"))
    instrument.validate_order(Price("50000"), Quantity("100"))
    _instrument(max_qty=None).validate_order(Price("50000"), Quantity("1000000"))


def test_non_decimal_tick_sizes_validate() -> None:
    instrument = _instrument(tick_size=Price("0.5"), lot_size=Quantity("0.25"))
    instrument.validate_order(Price("100.5"), Quantity("0.25"))
    with pytest.raises(Invalid):
        instrument.validate_order(Price("100.25"), Quantity("0.25"))


def test_rounding_defaults_and_overrides() -> None:
    instrument = _instrument()
    assert instrument.round_price(Price("100.005")) == Price("100.00")
    assert instrument.round_price(Price("100.015")) == Price("100.02")
    assert instrument.round_price(Price("100.001"), decimal.ROUND_UP) == Price("100.01")
    assert instrument.round_qty(Quantity("0.0019")) == Quantity("0.001")
    assert instrument.round_qty(Quantity("0.0011"), decimal.ROUND_UP) == Quantity("0.002")


def test_notional_is_in_the_quote_asset() -> None:
    assert _instrument().notional(Price("50000"), Quantity("0.002")) == Money("100", "USDT")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"min_notional": Money("10", "BUSD")}, "min_notional"),
        ({"tick_size": Price("0")}, "tick_size"),
        ({"lot_size": Quantity("0")}, "lot_size"),
        ({"max_qty": Quantity("0.001")}, "max_qty"),
        ({"base": "btc"}, "base"),
        ({"venue": "Binance"}, "venue"),
        ({"symbol": "BTC USDT"}, "symbol"),
        ({"tick_size": "0.01"}, "tick_size"),
    ],
)
def test_inconsistent_instruments_are_refused(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        _instrument(**overrides)
    assert caught.value.field == field
