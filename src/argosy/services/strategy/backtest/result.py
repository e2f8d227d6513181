"""What a backtest produced: fills, round trips, equity curve and metrics.

`fills_digest` is the SHA-256 of the fills in canonical form (ids, sides, decimal strings,
nanosecond times): the determinism contract is that equal inputs give equal digests.
The metrics are `domain.performance.summarize` over the equity curve (marked at each bar
close, the same definitions as the vectorized path and quantstats).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from argosy.kernel.orders import VenueFill
from argosy.services.strategy.backtest.spec import BacktestSpec
from argosy.services.strategy.domain.performance import summarize
from argosy.services.strategy.domain.roundtrips import RoundTrip, round_trips

__all__ = ["BacktestResult", "build_result", "fill_line"]

SECONDS_PER_YEAR = 365 * 24 * 3600


def fill_line(f: VenueFill) -> str:
    return "|".join((f.fill_id, f.client_order_id, str(f.instrument_id), f.side.value,
                     f.price.to_str(), f.quantity.to_str(), f.fee.to_str(), f.fee_asset,
                     f.liquidity.value, str(f.ts_ns)))


def _clean(value: float) -> float | None:
    """JSON has no NaN or infinity: those metrics read as null."""
    return value if math.isfinite(value) else None


@dataclass
class BacktestResult:
    status: str  # "completed" or "failed"
    error: str | None
    fills: list[VenueFill]
    trips: list[RoundTrip]
    curve_ts: npt.NDArray[np.int64]
    curve: npt.NDArray[np.float64]
    initial_cash: Decimal
    final_equity: Decimal
    metrics: dict[str, float | int | None]
    events: int
    elapsed_s: float
    signals: list[tuple[int, str, float]] = field(default_factory=list)
    rejections: int = 0

    @property
    def fills_digest(self) -> str:
        digest = hashlib.sha256()
        for f in self.fills:
            digest.update(fill_line(f).encode())
            digest.update(b"\n")
        return digest.hexdigest()

    @property
    def events_per_s(self) -> float:
        return self.events / self.elapsed_s if self.elapsed_s else 0.0

    def summary(self) -> dict[str, Any]:
        return {"status": self.status, "error": self.error, "events": self.events,
                "elapsed_s": self.elapsed_s, "fills": len(self.fills),
                "trades": len(self.trips), "initial_cash": str(self.initial_cash),
                "final_equity": str(self.final_equity), "fills_digest": self.fills_digest,
                "rejections": self.rejections, "metrics": self.metrics}

    def fills_json(self) -> list[dict[str, Any]]:
        return [{"fill_id": f.fill_id, "client_order_id": f.client_order_id,
                 "instrument_id": str(f.instrument_id), "side": f.side.value,
                 "price": f.price.to_str(), "quantity": f.quantity.to_str(),
                 "fee": f.fee.to_str(), "fee_asset": f.fee_asset,
                 "liquidity": f.liquidity.value, "ts_ns": f.ts_ns} for f in self.fills]


def build_result(spec: BacktestSpec, *, fills: list[VenueFill],
                 curve_ts: npt.NDArray[np.int64], curve: npt.NDArray[np.float64],
                 exposed: npt.NDArray[np.bool_], final_equity: Decimal, events: int,
                 elapsed_s: float, error: str | None, signals: list[tuple[int, str, float]],
                 rejections: int) -> BacktestResult:
    trips = round_trips(fills)
    closed = np.array([t.return_ for t in trips if t.return_ is not None], dtype=np.float64)
    notional = float(sum((f.price.value * f.quantity.value for f in fills), Decimal(0)))
    fees = float(sum((f.fee.value for f in fills), Decimal(0)))
    metrics: dict[str, float | int | None] = {}
    if len(curve):
        perf = summarize(curve, initial=float(spec.cash),
                         periods_per_year=SECONDS_PER_YEAR / spec.interval.seconds,
                         trade_returns=closed, in_market=exposed, traded_notional=notional,
                         fees_paid=fees)
        metrics = {k: (_clean(v) if isinstance(v, float) else v)
                   for k, v in perf.as_dict().items()}
    metrics["final_equity"] = float(final_equity)
    metrics["fills"] = len(fills)
    return BacktestResult("failed" if error else "completed", error, fills, trips, curve_ts,
                          curve, spec.cash, final_equity, metrics, events, elapsed_s,
                          signals, rejections)
