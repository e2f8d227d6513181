"""The data of pre-trade risk: rules, scopes, kill switches and the order context.

Kept apart from the evaluator so the wire schema, the risk service and the trading engine
can build and pass these values around without caring how they are evaluated. Every
number is a finite Decimal (never float) and every type is frozen, so a compiled rule set
can be shared between threads and swapped atomically on reload.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from argosy.kernel.errors import Invalid
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity, to_decimal

__all__ = [
    "HoursWindow",
    "KillSwitch",
    "KillSwitchLevel",
    "OrderContext",
    "PreTradeDecision",
    "Rule",
    "RuleKind",
    "Scope",
]

MINUTES_PER_DAY = 1440


class RuleKind(StrEnum):
    MAX_ORDER_QUANTITY = "max_order_quantity"
    MAX_ORDER_NOTIONAL = "max_order_notional"
    PRICE_BAND_BPS = "price_band_bps"
    MAX_POSITION = "max_position"
    MAX_GROSS_EXPOSURE = "max_gross_exposure"
    MAX_NET_EXPOSURE = "max_net_exposure"
    MAX_LEVERAGE = "max_leverage"
    MAX_OPEN_ORDERS = "max_open_orders"
    ORDER_RATE = "order_rate"
    DAILY_LOSS_LIMIT = "daily_loss_limit"
    MAX_DRAWDOWN = "max_drawdown"
    RESTRICTED_INSTRUMENTS = "restricted_instruments"
    TRADING_HOURS = "trading_hours"


# Kinds whose `limit` is a count of orders (an int >= 0) rather than an amount.
COUNT_KINDS = frozenset({RuleKind.MAX_OPEN_ORDERS, RuleKind.ORDER_RATE})
# Kinds that carry no `limit` at all.
LIMITLESS_KINDS = frozenset({RuleKind.RESTRICTED_INSTRUMENTS, RuleKind.TRADING_HOURS})


@dataclass(frozen=True, slots=True)
class Scope:
    """Which orders a rule covers: every field that is set must equal the order's.

    All fields None is the global scope. Fields combine, so "max position 2 BTC on
    BTC-USDT.binance for account acc_1" is one scope with `account_id` and `instrument`.
    """

    org: str | None = None
    user_id: str | None = None
    account_id: str | None = None
    strategy_id: str | None = None
    instrument: str | None = None  # the wire form of an InstrumentId

    def __post_init__(self) -> None:
        for name in ("org", "user_id", "account_id", "strategy_id", "instrument"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise Invalid(f"scope.{name} must be a non-empty string", field=f"scope.{name}")
        if self.instrument is not None:
            InstrumentId.parse(self.instrument, "scope.instrument")

    @property
    def specificity(self) -> int:
        """How many fields are pinned; more pinned = more specific (for ordering only)."""
        return sum(
            v is not None
            for v in (self.org, self.user_id, self.account_id, self.strategy_id, self.instrument)
        )

    def label(self) -> str:
        parts = [
            f"{k}={v}"
            for k, v in (
                ("org", self.org),
                ("user", self.user_id),
                ("account", self.account_id),
                ("strategy", self.strategy_id),
                ("instrument", self.instrument),
            )
            if v is not None
        ]
        return ",".join(parts) or "global"


@dataclass(frozen=True, slots=True)
class HoursWindow:
    """Minutes of the UTC day [start, end); end < start wraps past midnight.

    `weekdays` (0 = Monday) are the days the window *starts* on, so a Friday 22:00-02:00
    window also covers the first two hours of Saturday.
    """

    start_minute: int
    end_minute: int
    weekdays: frozenset[int] = frozenset(range(7))

    def __post_init__(self) -> None:
        for name in ("start_minute", "end_minute"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise Invalid(f"{name} must be an integer minute of day", field=name)
            if not 0 <= value <= MINUTES_PER_DAY:
                raise Invalid(f"{name} must be within 0..1440, got {value}", field=name)
        if self.start_minute == self.end_minute:
            raise Invalid("an hours window must not be empty (start == end)", field="end_minute")
        if not self.weekdays or not self.weekdays <= frozenset(range(7)):
            raise Invalid("weekdays must be a non-empty subset of 0..6", field="weekdays")

    def contains(self, weekday: int, minute: int) -> bool:
        start, end = self.start_minute, self.end_minute
        if start < end:
            return weekday in self.weekdays and start <= minute < end
        if minute >= start:
            return weekday in self.weekdays
        return minute < end and (weekday - 1) % 7 in self.weekdays


@dataclass(frozen=True, slots=True)
class Rule:
    """One declarative limit. Which fields matter depends on `kind`; others stay empty.

    `limit` is the ceiling (inclusive: a value exactly at the limit passes). Units:
    quantity in base asset, notional/exposure/loss in the account currency, leverage as a
    ratio (gross / equity), drawdown as a fraction of peak equity (0.1 = 10 %), price band
    in basis points of the mark, open orders and order rate as counts (`window_ns` for rate).
    """

    id: str
    kind: RuleKind
    scope: Scope = Scope()
    limit: Decimal | None = None
    window_ns: int | None = None
    instruments: frozenset[str] = frozenset()
    hours: tuple[HoursWindow, ...] = ()
    enabled: bool = True
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id or len(self.id) > 64:
            raise Invalid("rule id must be 1-64 characters", field="id")
        if not isinstance(self.kind, RuleKind):
            raise Invalid(f"unknown rule kind {self.kind!r}", field="kind")
        if not isinstance(self.scope, Scope):
            raise Invalid("scope must be a Scope", field="scope")
        self._check_limit()
        if self.kind is RuleKind.ORDER_RATE:
            if isinstance(self.window_ns, bool) or not isinstance(self.window_ns, int):
                raise Invalid("order_rate needs window_ns (nanoseconds)", field="window_ns")
            if self.window_ns <= 0:
                raise Invalid("window_ns must be positive", field="window_ns")
        elif self.window_ns is not None:
            raise Invalid(f"{self.kind} takes no window_ns", field="window_ns")
        if self.kind is RuleKind.RESTRICTED_INSTRUMENTS:
            if not self.instruments:
                raise Invalid("restricted_instruments needs instruments", field="instruments")
            for text in self.instruments:
                InstrumentId.parse(text, "instruments")
        elif self.instruments:
            raise Invalid(f"{self.kind} takes no instruments", field="instruments")
        if self.kind is RuleKind.TRADING_HOURS:
            if not self.hours:
                raise Invalid("trading_hours needs at least one window", field="hours")
        elif self.hours:
            raise Invalid(f"{self.kind} takes no hours", field="hours")

    def _check_limit(self) -> None:
        if self.kind in LIMITLESS_KINDS:
            if self.limit is not None:
                raise Invalid(f"{self.kind} takes no limit", field="limit")
            return
        if self.limit is None:
            raise Invalid(f"{self.kind} needs a limit", field="limit")
        number = to_decimal(self.limit, "limit")
        if number < 0:
            raise Invalid(f"limit must not be negative, got {number}", field="limit")
        if self.kind in COUNT_KINDS and number != number.to_integral_value():
            raise Invalid(f"{self.kind} limit must be a whole number", field="limit")
        if self.kind is RuleKind.MAX_DRAWDOWN and number > 1:
            raise Invalid("max_drawdown is a fraction of peak equity (0..1)", field="limit")
        # -0 becomes 0 so the canonical form (and the rule's wire echo) is stable.
        object.__setattr__(self, "limit", Decimal(0) if number == 0 else number)


class KillSwitchLevel(StrEnum):
    GLOBAL = "global"
    ORG = "org"
    USER = "user"
    ACCOUNT = "account"


@dataclass(frozen=True, slots=True)
class KillSwitch:
    """An engaged kill switch: no order that adds risk passes under its scope.

    `allow_reducing` (the default) lets orders that only shrink a position through, so a
    halt never traps an open position and the flatten that usually follows still works.
    """

    level: KillSwitchLevel
    key: str | None = None
    reason: str = ""
    allow_reducing: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.level, KillSwitchLevel):
            raise Invalid(f"unknown kill switch level {self.level!r}", field="level")
        if self.level is KillSwitchLevel.GLOBAL:
            if self.key is not None:
                raise Invalid("a global kill switch takes no key", field="key")
        elif not isinstance(self.key, str) or not self.key:
            raise Invalid(f"a {self.level} kill switch needs a key", field="key")

    @property
    def id(self) -> str:
        return f"kill:{self.level}" + (f":{self.key}" if self.key else "")


@dataclass(frozen=True, slots=True)
class OrderContext:
    """Everything a check needs, gathered by the caller before it asks.

    Amounts are in the account currency. `position_qty` is signed (short < 0) and is the
    account's position in `instrument_id`. `recent_order_ns` holds the account's recent
    order submissions in ascending order (only the last rate window matters).
    `drawdown` is a fraction of peak equity; `day_pnl` is negative for a loss.
    """

    org: str
    user_id: str
    account_id: str
    strategy_id: str | None
    instrument_id: InstrumentId
    side: Side
    quantity: Quantity
    price: Price | None
    mark_price: Price | None
    now_ns: int
    position_qty: Decimal = Decimal(0)
    open_orders: int = 0
    recent_order_ns: Sequence[int] = ()
    gross_exposure: Decimal = Decimal(0)
    net_exposure: Decimal = Decimal(0)
    equity: Decimal = Decimal(0)
    day_pnl: Decimal = Decimal(0)
    drawdown: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class PreTradeDecision:
    """The answer: `allowed`, and when not, which rule said no and why.

    `evaluated` lists the ids of the rules (and kill switches) checked, in order, up to and
    including the one that rejected, which is what a dry run shows to the user.
    """

    allowed: bool
    rule_id: str | None = None
    code: str | None = None
    reason: str | None = None
    evaluated: tuple[str, ...] = field(default=())
