"""Exact amounts: `Price`, `Quantity` and `Money` over `Decimal`, never float.

Orders, fills, balances and PnL must add up to the last digit the venue reports, so every
value is a Decimal and every operation runs in `MONEY_CONTEXT` (38 significant digits, all
dangerous signals trapped) rather than the thread's global context, which any library may
change. Values are built from `str`, `int` or `Decimal` only: a float has already lost the
digits by the time it reaches us, so it is refused, and so are bool, NaN and Infinity.

The three types never mix implicitly. A price times a quantity is a notional, and a notional
needs a currency that neither operand knows, so it is spelled `notional(price, qty, quote)`
(or `Instrument.notional`). Arithmetic or ordering across two currencies raises `Invalid`.

Wire format: `to_str()` is canonical: fixed-point (never an exponent), no trailing zeros,
"0" for zero (never "-0"). Equal values therefore always give equal strings, which keeps
idempotency keys, signatures and logs stable; a value quantized to a step of 0.01 prints as
"12.3", not "12.30", and venues parse both the same way.
"""

from __future__ import annotations

import decimal
import re
from decimal import Decimal
from typing import ClassVar, Self, final, overload

from argosy.kernel._decimals import (
    MONEY_CONTEXT,
    PRECISION,
    ROUNDINGS,
    DecimalLike,
    canonical,
    check_rounding,
    is_multiple,
    quantize,
    scalar,
    step_of,
    to_decimal,
)
from argosy.kernel.errors import Invalid

__all__ = [
    "MONEY_CONTEXT",
    "PRECISION",
    "ROUNDINGS",
    "DecimalLike",
    "Money",
    "Price",
    "Quantity",
    "notional",
    "to_decimal",
]

_CURRENCY = re.compile(r"[A-Z0-9]{1,20}")


def _step(step: object) -> Decimal:
    return step_of(step.value if isinstance(step, _Amount) else step)


class _Amount:
    """Shared behaviour of the currency-less amounts; only same-type operands combine."""

    __slots__ = ("_value",)
    _field: ClassVar[str] = "value"
    _default_rounding: ClassVar[str] = decimal.ROUND_HALF_EVEN
    _value: Decimal

    def __init__(self, value: DecimalLike) -> None:
        number = to_decimal(value, self._field)
        self._check(number)
        object.__setattr__(self, "_value", number)

    @classmethod
    def _of(cls, number: Decimal) -> Self:
        cls._check(number)
        amount = object.__new__(cls)
        object.__setattr__(amount, "_value", number)
        return amount

    @classmethod
    def _check(cls, number: Decimal) -> None:
        """Subclasses narrow the range (a quantity is never negative)."""

    @property
    def value(self) -> Decimal:
        return self._value

    def to_str(self) -> str:
        return canonical(self._value)

    def is_zero(self) -> bool:
        return self._value == 0

    def quantize(self, step: Self | DecimalLike, rounding: str | None = None) -> Self:
        mode = check_rounding(rounding or self._default_rounding)
        return self._of(quantize(self._value, _step(step), mode))

    def is_multiple_of(self, step: Self | DecimalLike) -> bool:
        return is_multiple(self._value, _step(step))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self) -> tuple[type[Self], tuple[str]]:
        return type(self), (str(self._value),)

    def __repr__(self) -> str:
        return f"{type(self).__name__}('{self._value}')"

    def __str__(self) -> str:
        return self.to_str()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._value))

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _Amount)
        return self._value == other._value

    def __lt__(self, other: Self) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._value < other._value

    def __le__(self, other: Self) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._value <= other._value

    def __gt__(self, other: Self) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._value > other._value

    def __ge__(self, other: Self) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._value >= other._value

    def __add__(self, other: Self) -> Self:
        if type(other) is not type(self):
            return NotImplemented
        return self._of(MONEY_CONTEXT.add(self._value, other._value))

    def __sub__(self, other: Self) -> Self:
        if type(other) is not type(self):
            return NotImplemented
        return self._of(MONEY_CONTEXT.subtract(self._value, other._value))

    def __mul__(self, other: int | Decimal) -> Self:
        factor = scalar(other)
        if factor is None:
            return NotImplemented
        return self._of(MONEY_CONTEXT.multiply(self._value, factor))

    __rmul__ = __mul__

    @overload
    def __truediv__(self, other: Self) -> Decimal: ...

    @overload
    def __truediv__(self, other: int | Decimal) -> Self: ...

    def __truediv__(self, other: Self | int | Decimal) -> Self | Decimal:
        if type(other) is type(self):
            assert isinstance(other, _Amount)
            return MONEY_CONTEXT.divide(self._value, other._value)
        divisor = scalar(other)
        if divisor is None:
            return NotImplemented
        return self._of(MONEY_CONTEXT.divide(self._value, divisor))


@final
class Price(_Amount):
    """A price per unit of base asset, in the quote asset. Signed, so spreads fit."""

    __slots__ = ()
    _field = "price"

    def __neg__(self) -> Price:
        return Price._of(MONEY_CONTEXT.minus(self._value))

    def __abs__(self) -> Price:
        return Price._of(MONEY_CONTEXT.abs(self._value))


@final
class Quantity(_Amount):
    """An amount of base asset. Never negative: direction lives in the order's side.

    Quantizing rounds down by default so an order never asks for more than was meant.
    """

    __slots__ = ()
    _field = "quantity"
    _default_rounding = decimal.ROUND_DOWN

    @classmethod
    def _check(cls, number: Decimal) -> None:
        if number < 0:
            raise Invalid(f"quantity must not be negative, got {number}", field="quantity")


def _currency(code: object) -> str:
    if not isinstance(code, str) or _CURRENCY.fullmatch(code) is None:
        raise Invalid(
            f"currency must be an upper-case asset code such as USDT, got {code!r}",
            field="currency",
        )
    return code


@final
class Money:
    """A signed amount of one asset. Two currencies never combine or compare."""

    __slots__ = ("_amount", "_currency")
    _amount: Decimal
    _currency: str

    def __init__(self, amount: DecimalLike, currency: str) -> None:
        object.__setattr__(self, "_amount", to_decimal(amount, "amount"))
        object.__setattr__(self, "_currency", _currency(currency))

    @classmethod
    def _of(cls, amount: Decimal, currency: str) -> Money:
        money = object.__new__(cls)
        object.__setattr__(money, "_amount", amount)
        object.__setattr__(money, "_currency", currency)
        return money

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @property
    def amount(self) -> Decimal:
        return self._amount

    @property
    def currency(self) -> str:
        return self._currency

    def to_str(self) -> str:
        """The amount alone, canonical; the currency travels in its own field."""
        return canonical(self._amount)

    def is_zero(self) -> bool:
        return self._amount == 0

    def quantize(self, step: DecimalLike, rounding: str = decimal.ROUND_HALF_EVEN) -> Money:
        return Money._of(
            quantize(self._amount, _step(step), check_rounding(rounding)), self._currency
        )

    def is_multiple_of(self, step: DecimalLike) -> bool:
        return is_multiple(self._amount, _step(step))

    def _same(self, other: Money) -> None:
        if other._currency != self._currency:
            raise Invalid(
                f"cannot combine {self._currency} with {other._currency}", field="currency"
            )

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Money is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Money is immutable")

    def __reduce__(self) -> tuple[type[Money], tuple[str, str]]:
        return Money, (str(self._amount), self._currency)

    def __repr__(self) -> str:
        return f"Money('{self._amount}', '{self._currency}')"

    def __str__(self) -> str:
        return f"{self.to_str()} {self._currency}"

    def __hash__(self) -> int:
        return hash((self._amount, self._currency))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self._currency == other._currency and self._amount == other._amount

    def __lt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return self._amount < other._amount

    def __le__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return self._amount <= other._amount

    def __gt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return self._amount > other._amount

    def __ge__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return self._amount >= other._amount

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money._of(MONEY_CONTEXT.add(self._amount, other._amount), self._currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money._of(MONEY_CONTEXT.subtract(self._amount, other._amount), self._currency)

    def __mul__(self, other: int | Decimal) -> Money:
        factor = scalar(other)
        if factor is None:
            return NotImplemented
        return Money._of(MONEY_CONTEXT.multiply(self._amount, factor), self._currency)

    __rmul__ = __mul__

    @overload
    def __truediv__(self, other: Money) -> Decimal: ...

    @overload
    def __truediv__(self, other: int | Decimal) -> Money: ...

    def __truediv__(self, other: Money | int | Decimal) -> Money | Decimal:
        if isinstance(other, Money):
            self._same(other)
            return MONEY_CONTEXT.divide(self._amount, other._amount)
        divisor = scalar(other)
        if divisor is None:
            return NotImplemented
        return Money._of(MONEY_CONTEXT.divide(self._amount, divisor), self._currency)

    def __neg__(self) -> Money:
        return Money._of(MONEY_CONTEXT.minus(self._amount), self._currency)

    def __abs__(self) -> Money:
        return Money._of(MONEY_CONTEXT.abs(self._amount), self._currency)


def notional(price: Price, quantity: Quantity, currency: str) -> Money:
    """Price times quantity, in the quote asset the caller names (the operands cannot)."""
    if not isinstance(price, Price) or not isinstance(quantity, Quantity):
        raise Invalid("notional needs a Price and a Quantity", field="price")
    return Money._of(MONEY_CONTEXT.multiply(price.value, quantity.value), _currency(currency))
