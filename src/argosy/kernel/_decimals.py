"""Exact decimal rules behind money.py: one context, one parser, exact step rounding.

Kept apart so money.py holds only the value types; nothing outside the kernel imports this.
"""

from __future__ import annotations

import decimal
import re
from decimal import Decimal
from typing import Final, TypeAlias

from argosy.kernel.errors import Invalid

__all__ = [
    "MONEY_CONTEXT",
    "PRECISION",
    "ROUNDINGS",
    "DecimalLike",
    "canonical",
    "check_rounding",
    "is_multiple",
    "quantize",
    "scalar",
    "step_of",
    "to_decimal",
]

PRECISION: Final = 38
MONEY_CONTEXT: Final = decimal.Context(
    prec=PRECISION,
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
# ROUND_05UP is left out: nobody trades with it and it has no meaning for non-decimal steps.
ROUNDINGS: Final = frozenset(
    {
        decimal.ROUND_DOWN,
        decimal.ROUND_UP,
        decimal.ROUND_FLOOR,
        decimal.ROUND_CEILING,
        decimal.ROUND_HALF_UP,
        decimal.ROUND_HALF_DOWN,
        decimal.ROUND_HALF_EVEN,
    }
)

DecimalLike: TypeAlias = Decimal | int | str

# Plain decimal notation with an optional exponent; no whitespace, underscores or "nan".
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_ONE: Final = Decimal(1)
_TWO: Final = Decimal(2)


def to_decimal(value: object, field: str = "value") -> Decimal:
    """Parse a wire or program value into a finite Decimal that fits `MONEY_CONTEXT`."""
    if isinstance(value, bool):
        raise Invalid(f"{field} must be a decimal, not a bool", field=field)
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        if _NUMBER.fullmatch(value) is None:
            raise Invalid(f"{field} is not a decimal number: {value[:40]!r}", field=field)
        number = Decimal(value)
    elif isinstance(value, float):
        raise Invalid(f"{field} must be a str, int or Decimal, never a float", field=field)
    else:
        raise Invalid(
            f"{field} must be a str, int or Decimal, not {type(value).__name__}", field=field
        )
    if not number.is_finite():
        raise Invalid(f"{field} must be finite, got {number}", field=field)
    parts = number.as_tuple()  # once: it is the costly part of this hot path
    if len(parts.digits) > PRECISION:
        shorter = number.normalize(MONEY_CONTEXT)  # only trailing zeros may be dropped
        if shorter != number:
            raise Invalid(f"{field} has more than {PRECISION} significant digits", field=field)
        number, parts = shorter, shorter.as_tuple()
    exponent = parts.exponent
    assert isinstance(exponent, int)  # finite numbers have an int exponent
    if exponent < -PRECISION or number.adjusted() >= PRECISION:
        raise Invalid(f"{field} is out of range: {value!s:.40}", field=field)
    return number


def scalar(value: object) -> Decimal | None:
    """A plain multiplier or divisor; None lets Python try the other operand."""
    if isinstance(value, float):
        raise Invalid("money arithmetic with a float is refused; use Decimal", field="value")
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return to_decimal(value)
    return None


def step_of(raw: object, field: str = "step") -> Decimal:
    """A positive step, normalized so its exponent is the number of decimals it allows."""
    number = to_decimal(raw, field)
    if number <= 0:
        raise Invalid(f"{field} must be positive, got {number}", field=field)
    return number.normalize(MONEY_CONTEXT)


def check_rounding(rounding: str) -> str:
    if rounding not in ROUNDINGS:
        raise Invalid(f"unsupported rounding {rounding!r}", field="rounding")
    return rounding


def quantize(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    """Nearest multiple of `step` in the direction `rounding` asks, computed exactly."""
    try:
        if step.as_tuple().digits == (1,):  # a power of ten: Decimal does it natively
            return value.quantize(step, rounding=rounding, context=MONEY_CONTEXT)
        # Steps such as 0.5 or 0.25: divmod is exact where value / step would round.
        quotient, remainder = MONEY_CONTEXT.divmod(value, step)
    except decimal.InvalidOperation:
        raise Invalid(f"{value} has too many steps of {step} to count", field="step") from None
    if remainder:
        quotient = _round_quotient(quotient, remainder, step, rounding)
    return MONEY_CONTEXT.multiply(quotient, step)


def _round_quotient(quotient: Decimal, remainder: Decimal, step: Decimal, mode: str) -> Decimal:
    """`quotient` is truncated toward zero and `remainder` carries the value's sign."""
    away = MONEY_CONTEXT.add(quotient, _ONE if remainder > 0 else -_ONE)
    if mode == decimal.ROUND_DOWN:
        return quotient
    if mode == decimal.ROUND_UP:
        return away
    if mode == decimal.ROUND_FLOOR:
        return quotient if remainder > 0 else away
    if mode == decimal.ROUND_CEILING:
        return away if remainder > 0 else quotient
    twice = MONEY_CONTEXT.multiply(MONEY_CONTEXT.abs(remainder), _TWO)
    if twice != step:
        return away if twice > step else quotient
    if mode == decimal.ROUND_HALF_UP:
        return away
    if mode == decimal.ROUND_HALF_DOWN:
        return quotient
    return quotient if MONEY_CONTEXT.remainder(quotient, _TWO) == 0 else away


def is_multiple(value: Decimal, step: Decimal) -> bool:
    try:
        return MONEY_CONTEXT.remainder(value, step) == 0
    except decimal.InvalidOperation:
        return False  # more steps than the precision can count: not a tradable multiple


def canonical(value: Decimal) -> str:
    """Fixed-point, no trailing zeros, never "-0": equal values give equal strings."""
    if value == 0:
        return "0"
    return format(value.normalize(MONEY_CONTEXT), "f")
