"""User-defined price alerts, evaluated tick by tick against the market data stream.

Two kinds. A level alert fires when the price *crosses* a level (the previous observation
on one side, this one on or beyond it), so an alert created while the price already sits
above its level does not fire on the first tick. A move alert fires when the price moved
by at least `pct` percent within the last `window_s` seconds, measured from the lowest
(for a rise) or highest (for a fall) price inside that window, kept with monotonic deques
so each tick is O(1) amortised.

An alert fires once, unless `repeat` is set: a repeating level alert re-arms when the
price goes back to the other side; a repeating move alert starts a fresh window. A
cooldown keeps a price that oscillates around a level from firing on every tick.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Final, Literal

from argosy.kernel.errors import Invalid

__all__ = [
    "CONDITIONS",
    "AlertSpec",
    "AlertState",
    "Condition",
    "Firing",
    "check_decimal",
    "observe",
]

Condition = Literal["above", "below", "cross", "move_up", "move_down", "move"]
CONDITIONS: Final[tuple[Condition, ...]] = ("above", "below", "cross", "move_up",
                                            "move_down", "move")
_NS = 1_000_000_000
_HUNDRED = Decimal(100)


def check_decimal(text: str, field: str, *, positive: bool = True) -> Decimal:
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError):
        raise Invalid(f"not a decimal number: {text!r}", field=field) from None
    if not value.is_finite() or (positive and value <= 0):
        raise Invalid("must be a positive, finite decimal", field=field)
    return value


@dataclass(frozen=True, slots=True)
class AlertSpec:
    id: str
    instrument: str
    condition: Condition
    level: Decimal | None = None
    pct: Decimal | None = None
    window_s: int | None = None
    repeat: bool = False
    cooldown_s: int = 60

    def __post_init__(self) -> None:
        if self.condition in ("above", "below", "cross"):
            if self.level is None:
                raise Invalid(f"a {self.condition} alert needs a level", field="level")
        elif self.pct is None or self.window_s is None:
            field_name = "pct" if self.pct is None else "window_s"
            raise Invalid(f"a {self.condition} alert needs pct and window_s", field=field_name)

    def describe(self) -> str:
        if self.condition in ("above", "below"):
            return f"crossed {self.condition} {self.level}"
        if self.condition == "cross":
            return f"crossed {self.level}"
        way = {"move_up": "rose", "move_down": "fell", "move": "moved"}[self.condition]
        return f"{way} {self.pct}% within {self.window_s}s"


@dataclass(slots=True)
class AlertState:
    """What an evaluator remembers between ticks (in memory; rebuilt after a restart)."""

    last_price: Decimal | None = None
    last_ts_ns: int = 0
    last_fired_ns: int | None = None
    done: bool = False  # fired and not repeating
    lows: deque[tuple[int, Decimal]] = field(default_factory=deque)  # increasing prices
    highs: deque[tuple[int, Decimal]] = field(default_factory=deque)  # decreasing prices


@dataclass(frozen=True, slots=True)
class Firing:
    price: Decimal
    ts_ns: int
    reference: Decimal | None  # the window's low/high for move alerts
    change_pct: Decimal | None


def _crossed(spec: AlertSpec, prev: Decimal, price: Decimal) -> bool:
    level = spec.level
    assert level is not None
    up = prev < level <= price
    down = prev > level >= price
    return {"above": up, "below": down, "cross": up or down}.get(spec.condition, False)


def _move(spec: AlertSpec, state: AlertState, price: Decimal, ts: int) -> Firing | None:
    assert spec.window_s is not None and spec.pct is not None  # noqa: PT018
    horizon = ts - spec.window_s * _NS
    for dq in (state.lows, state.highs):
        while dq and dq[0][0] < horizon:
            dq.popleft()
    while state.lows and state.lows[-1][1] >= price:
        state.lows.pop()
    while state.highs and state.highs[-1][1] <= price:
        state.highs.pop()
    state.lows.append((ts, price))
    state.highs.append((ts, price))
    low, high = state.lows[0][1], state.highs[0][1]
    rise = (price - low) / low * _HUNDRED if low > 0 else Decimal(0)
    fall = (high - price) / high * _HUNDRED if high > 0 else Decimal(0)
    if spec.condition in ("move_up", "move") and rise >= spec.pct:
        return Firing(price, ts, low, rise.quantize(Decimal("0.01")))
    if spec.condition in ("move_down", "move") and fall >= spec.pct:
        return Firing(price, ts, high, -fall.quantize(Decimal("0.01")))
    return None


def observe(spec: AlertSpec, state: AlertState, price: Decimal, ts_ns: int) -> Firing | None:
    """Feed one price; returns a Firing when the alert should notify now."""
    if state.done:
        return None
    ts = max(ts_ns, state.last_ts_ns)  # a late tick never moves the window backwards
    prev, state.last_price, state.last_ts_ns = state.last_price, price, ts
    if spec.condition in ("above", "below", "cross"):
        fired = Firing(price, ts, None, None) if (
            prev is not None and _crossed(spec, prev, price)) else None
    else:
        fired = _move(spec, state, price, ts)
    if fired is None:
        return None
    if state.last_fired_ns is not None and ts - state.last_fired_ns < spec.cooldown_s * _NS:
        return None
    state.last_fired_ns = ts
    if not spec.repeat:
        state.done = True
    elif spec.condition.startswith("move"):
        state.lows.clear()
        state.highs.clear()
        state.lows.append((ts, price))
        state.highs.append((ts, price))
    return fired
