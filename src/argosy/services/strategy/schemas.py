"""Request bodies of the strategy API (responses are plain documented dicts)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from argosy.kernel.clock import iso_to_ns
from argosy.kernel.errors import Invalid
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Interval
from argosy.services.strategy.backtest.spec import BacktestSpec
from argosy.services.strategy.domain.strategy import Strategy

__all__ = ["BacktestRequest"]


def _decimal(value: str, field: str) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise Invalid(f"{field} must be a decimal string, got {value!r}", field=field) from None
    if not number.is_finite():
        raise Invalid(f"{field} must be finite", field=field)
    return number


class BacktestRequest(BaseModel):
    """A strategy, its parameters and the recorded data to run it over."""

    model_config = ConfigDict(extra="forbid")

    strategy: str = Field(min_length=1, max_length=128, examples=["sma_crossover"])
    params: dict[str, Any] = Field(default_factory=dict, examples=[{"fast": 10, "slow": 30}])
    instruments: list[str] = Field(min_length=1, max_length=20, examples=[["BTC-USD.ftx"]])
    mode: Literal["bar", "trade", "book"] = "bar"
    interval: str = Field("1m", description="bar length (bar mode) or bars built from trades")
    start: str | None = Field(None, description="ISO 8601 with zone; inclusive")
    end: str | None = Field(None, description="ISO 8601 with zone; exclusive")
    cash: str = Field("100000", description="starting balance of the quote asset")
    fee_bps: str = Field("10", description="taker fee, basis points of notional")
    maker_fee_bps: str | None = Field(None, description="maker fee (default: fee_bps)")
    slippage_bps: str = "0"
    latency_ms: float = Field(0.0, ge=0.0, le=60_000.0)

    def to_spec(self, cls: type[Strategy]) -> BacktestSpec:
        instruments = tuple(InstrumentId.parse(text, field="instruments")
                            for text in self.instruments)
        fee = _decimal(self.fee_bps, "fee_bps")
        return BacktestSpec(
            strategy=cls, instruments=instruments, params=dict(self.params), mode=self.mode,
            interval=Interval.parse(self.interval),
            start_ns=iso_to_ns(self.start) if self.start else None,
            end_ns=iso_to_ns(self.end) if self.end else None,
            cash=_decimal(self.cash, "cash"), taker_bps=fee,
            maker_bps=_decimal(self.maker_fee_bps, "maker_fee_bps")
            if self.maker_fee_bps is not None else fee,
            slippage_bps=_decimal(self.slippage_bps, "slippage_bps"),
            latency_ns=round(self.latency_ms * 1_000_000))
