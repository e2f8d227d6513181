"""Money must be exact: properties over many values, checked against Fraction arithmetic."""

from __future__ import annotations

import copy
import decimal
import math
import pickle
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from argosy.kernel.errors import Invalid
from argosy.kernel.money import ROUNDINGS, Money, Price, Quantity, notional, to_decimal

amounts = st.decimals(
    min_value=Decimal("-1e12"),
    max_value=Decimal("1e12"),
    places=10,
    allow_nan=False,
    allow_infinity=False,
)
non_negative = amounts.map(abs)
steps = st.one_of(
    st.sampled_from(["0.01", "0.00001", "1", "0.5", "0.25", "5", "10", "0.0025", "1E+2"]).map(
        Decimal
    ),
    st.builds(
        lambda mantissa, places: Decimal(mantissa).scaleb(-places),
        st.integers(1, 999),
        st.integers(0, 8),
    ),
)
roundings = st.sampled_from(sorted(ROUNDINGS))
currencies = st.sampled_from(["USDT", "BTC", "ETH", "1000SHIB"])


def _reference(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    """Round value / step to an integer with exact rational arithmetic."""
    ratio = Fraction(value) / Fraction(step)
    low = math.floor(ratio)
    if ratio == low:
        return value
    high = low + 1
    positive = ratio > 0
    toward_zero, away = (low, high) if positive else (high, low)
    if rounding == decimal.ROUND_DOWN:
        n = toward_zero
    elif rounding == decimal.ROUND_UP:
        n = away
    elif rounding == decimal.ROUND_FLOOR:
        n = low
    elif rounding == decimal.ROUND_CEILING:
        n = high
    elif ratio - low != Fraction(1, 2):
        n = low if ratio - low < Fraction(1, 2) else high
    elif rounding == decimal.ROUND_HALF_UP:
        n = away
    elif rounding == decimal.ROUND_HALF_DOWN:
        n = toward_zero
    else:
        n = low if low % 2 == 0 else high
    return Decimal(n) * step


@given(amounts, steps, roundings)
def test_quantize_matches_exact_rational_rounding(
    value: Decimal, step: Decimal, rounding: str
) -> None:
    assert Price(value).quantize(step, rounding).value == _reference(value, step, rounding)


@given(amounts, steps, roundings)
def test_quantize_is_idempotent_and_lands_on_the_step(
    value: Decimal, step: Decimal, mode: str
) -> None:
    once = Price(value).quantize(step, mode)
    assert once.quantize(step, mode) == once
    assert once.is_multiple_of(step)
    assert abs(once.value - value) < step


@given(non_negative, steps)
def test_quantity_rounds_down_by_default_and_never_exceeds(value: Decimal, step: Decimal) -> None:
    rounded = Quantity(value).quantize(step)
    assert rounded <= Quantity(value)
    assert Quantity(value).value - rounded.value < step


@given(amounts, steps)
def test_price_rounds_half_even_by_default(value: Decimal, step: Decimal) -> None:
    assert Price(value).quantize(step) == Price(value).quantize(step, decimal.ROUND_HALF_EVEN)


def test_half_even_ties_go_to_the_even_step() -> None:
    assert Price("0.125").quantize("0.01").to_str() == "0.12"
    assert Price("0.135").quantize("0.01").to_str() == "0.14"
    assert Price("0.75").quantize("0.5").to_str() == "1"
    assert Price("0.25").quantize("0.5").to_str() == "0"


def test_non_decimal_steps_are_exact_where_division_would_round() -> None:
    # 0.3 is not a power of ten: value / step would be a repeating decimal.
    assert Price("0.9").quantize("0.3", decimal.ROUND_DOWN).to_str() == "0.9"
    almost = Price("0.8999999999999999999999999999999999999")
    assert almost.quantize("0.3", decimal.ROUND_DOWN).to_str() == "0.6"


@given(amounts, amounts, amounts)
def test_addition_is_commutative_and_associative(a: Decimal, b: Decimal, c: Decimal) -> None:
    x, y, z = Price(a), Price(b), Price(c)
    assert x + y == y + x
    assert (x + y) + z == x + (y + z)


@given(amounts, amounts, currencies)
def test_adding_then_subtracting_gives_back_the_original(a: Decimal, b: Decimal, code: str) -> None:
    assert Price(a) + Price(b) - Price(b) == Price(a)
    assert Money(a, code) + Money(b, code) - Money(b, code) == Money(a, code)


@given(amounts, amounts)
def test_money_of_two_currencies_never_combines(a: Decimal, b: Decimal) -> None:
    usdt, btc = Money(a, "USDT"), Money(b, "BTC")
    for operation in (
        lambda: usdt + btc,
        lambda: usdt - btc,
        lambda: usdt < btc,
        lambda: usdt >= btc,
        lambda: usdt / btc,
    ):
        with pytest.raises(Invalid) as caught:
            operation()
        assert caught.value.field == "currency"
    assert usdt != btc


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_floats_are_refused_everywhere(number: float) -> None:
    for build in (Price, Quantity, lambda v: Money(v, "USDT")):
        with pytest.raises(Invalid):
            build(number)  # type: ignore[arg-type]
    with pytest.raises(Invalid):
        Price("1") * number  # type: ignore[operator]
    with pytest.raises(Invalid):
        Money("1", "USDT") / number  # type: ignore[operator]


@pytest.mark.parametrize(
    "bad",
    [
        True,
        False,
        "nan",
        "NaN",
        "inf",
        "-Infinity",
        "",
        " 1",
        "1 ",
        "1_000",
        "1.2.3",
        "0x10",
        "1e",
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("sNaN"),
        None,
        [1],
        "1" * 39,
        "1e40",
        "1e-39",
    ],
)
def test_non_decimal_inputs_are_refused(bad: object) -> None:
    with pytest.raises(Invalid) as caught:
        Price(bad)  # type: ignore[arg-type]
    assert caught.value.field == "price"


def test_accepted_inputs() -> None:
    assert Price(5) == Price("5.000") == Price(Decimal("5")) == Price("5e0") == Price("+.5e1")
    assert Price("1" + "0" * 37 + "." + "0" * 10).to_str() == "1" + "0" * 37


@given(amounts)
def test_wire_string_round_trips_exactly_and_is_canonical(value: Decimal) -> None:
    text = Price(value).to_str()
    assert Price(text) == Price(value)
    assert Decimal(text) == value
    assert "e" not in text.lower()
    assert text != "-0"
    if "." in text:
        assert not text.endswith("0")
        assert not text.endswith(".")


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_any_accepted_decimal_round_trips(value: Decimal) -> None:
    try:
        price = Price(value)
    except Invalid:
        return
    assert Price(price.to_str()) == price
    assert Price(str(value)) == price


def test_canonical_strings() -> None:
    assert Price("12.300").to_str() == "12.3"
    assert Price("1E+3").to_str() == "1000"
    assert Price("-0.000").to_str() == "0"
    assert Price("0.00000001").to_str() == "0.00000001"
    assert str(Money("-2.50", "USDT")) == "-2.5 USDT"
    assert Quantity("123.4500").quantize("0.01").to_str() == "123.45"


def test_arithmetic_ignores_the_global_decimal_context() -> None:
    with decimal.localcontext() as ctx:
        ctx.prec = 4
        ctx.traps[decimal.Inexact] = True
        total = Price("123456.789") + Price("0.001")
        assert total.to_str() == "123456.79"
        assert (Quantity("1.23456789") * 3).to_str() == "3.70370367"


def test_scalar_multiplication_and_division() -> None:
    assert Price("2.5") * 2 == Price(5) == 2 * Price("2.5")
    assert Money("10", "USDT") / 4 == Money("2.5", "USDT")
    assert Quantity("3") / Quantity("4") == Decimal("0.75")
    assert Money("3", "USDT") / Money("4", "USDT") == Decimal("0.75")
    with pytest.raises(ZeroDivisionError):
        Price(1) / 0
    with pytest.raises(TypeError):
        Price(1) * Quantity(1)  # type: ignore[operator]
    with pytest.raises(TypeError):
        Price(1) + Quantity(1)  # type: ignore[operator]


def test_quantity_is_never_negative() -> None:
    with pytest.raises(Invalid) as caught:
        Quantity("-0.1")
    assert caught.value.field == "quantity"
    with pytest.raises(Invalid):
        Quantity("1") - Quantity("1.5")
    assert Quantity("1") - Quantity("1") == Quantity(0)


def test_ordering_is_within_one_type_only() -> None:
    assert sorted([Price(3), Price("-1"), Price("2.5")]) == [Price(-1), Price("2.5"), Price(3)]
    assert Money(1, "USDT") < Money(2, "USDT")
    assert Price(1) != Quantity(1)
    with pytest.raises(TypeError):
        assert Price(1) < Quantity(2)  # type: ignore[operator]


def test_values_are_hashable_and_immutable() -> None:
    assert len({Price("1"), Price("1.00"), Price("2")}) == 2
    assert len({Money("1", "USDT"), Money("1.0", "USDT"), Money("1", "BTC")}) == 2
    price = Price("1")
    with pytest.raises(AttributeError):
        price._value = Decimal(2)
    with pytest.raises(AttributeError):
        Money("1", "USDT")._currency = "BTC"


@pytest.mark.parametrize("value", [Price("-1.5"), Quantity("0.001"), Money("7.25", "ETH")])
def test_values_survive_pickle_and_copy(value: object) -> None:
    assert pickle.loads(pickle.dumps(value)) == value  # noqa: S301 - our own bytes
    assert copy.deepcopy(value) == value


def test_steps_and_roundings_are_checked() -> None:
    for bad_step in ("0", "-0.01", 0.01):
        with pytest.raises(Invalid) as caught:
            Price(1).quantize(bad_step)  # type: ignore[arg-type]
        assert caught.value.field == "step"
    with pytest.raises(Invalid) as caught:
        Price(1).quantize("0.01", decimal.ROUND_05UP)
    assert caught.value.field == "rounding"
    assert Price("0.3").is_multiple_of(Price("0.1"))
    assert not Price("0.35").is_multiple_of("0.1")


def test_currency_codes_are_upper_case_asset_codes() -> None:
    for bad in ("usdt", "", "US-DT", "X" * 21):
        with pytest.raises(Invalid) as caught:
            Money(1, bad)
        assert caught.value.field == "currency"


def test_notional_needs_the_quote_currency() -> None:
    assert notional(Price("50000"), Quantity("0.002"), "USDT") == Money("100", "USDT")
    with pytest.raises(Invalid):
        notional(Price("1"), Price("1"), "USDT")  # type: ignore[arg-type]


def test_money_quantize_and_zero() -> None:
    assert Money("1.005", "USDT").quantize("0.01") == Money("1.00", "USDT")
    assert Money("1.005", "USDT").quantize("0.01", decimal.ROUND_UP) == Money("1.01", "USDT")
    assert Money.zero("BTC").is_zero()
    assert -Money("1", "BTC") == Money("-1", "BTC")
    assert abs(Price("-2")) == Price(2)


def test_to_decimal_names_the_field() -> None:
    with pytest.raises(Invalid) as caught:
        to_decimal(1.5, "fee")
    assert caught.value.field == "fee"
