"""What a backtest is asked to do, checked before any data is read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from argosy.kernel.errors import Invalid
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Interval
from argosy.services.strategy.backtest.data import Mode
from argosy.services.strategy.domain.strategy import Strategy

__all__ = ["BacktestSpec"]

_MODES = ("bar", "trade", "book")


@dataclass(frozen=True)
class BacktestSpec:
    """A strategy class with its parameters over recorded data, with an account's costs.

    `interval` is the bar length in bar mode and the bars built from trades otherwise (and
    the equity curve's step); fees are per side in basis points of notional; `latency_ns`
    delays every order's arrival at the matching engine.
    """

    strategy: type[Strategy]
    instruments: tuple[InstrumentId, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    mode: Mode = "bar"
    interval: Interval = Interval.M1
    start_ns: int | None = None
    end_ns: int | None = None
    cash: Decimal = Decimal(100_000)
    maker_bps: Decimal = Decimal(10)
    taker_bps: Decimal = Decimal(10)
    slippage_bps: Decimal = Decimal(0)
    latency_ns: int = 0

    def __post_init__(self) -> None:
        if not self.instruments:
            raise Invalid("at least one instrument is needed", field="instruments")
        if len(set(self.instruments)) != len(self.instruments):
            raise Invalid("instruments must be distinct", field="instruments")
        quotes = {i.quote for i in self.instruments}
        if len(quotes) != 1:
            raise Invalid(f"all instruments must share one quote asset (the account's cash), "
                          f"got {sorted(quotes)}", field="instruments")
        if self.mode not in _MODES:
            raise Invalid(f"mode must be one of {list(_MODES)}, got {self.mode!r}",
                          field="mode")
        if self.start_ns is not None and self.end_ns is not None \
                and self.end_ns <= self.start_ns:
            raise Invalid("end must be after start", field="end")
        for name in ("cash", "maker_bps", "taker_bps", "slippage_bps"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                raise Invalid(f"{name} must be a non-negative decimal", field=name)
        if self.cash <= 0:
            raise Invalid("cash must be positive", field="cash")
        if isinstance(self.latency_ns, bool) or not isinstance(self.latency_ns, int) \
                or not 0 <= self.latency_ns <= 60_000_000_000:
            raise Invalid("latency must be between 0 and 60 s", field="latency_ms")

    @property
    def quote(self) -> str:
        return self.instruments[0].quote

    def build(self) -> Strategy:
        """A fresh strategy instance; parameters are validated here (`Invalid` -> 422)."""
        return self.strategy(self.params)
