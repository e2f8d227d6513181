"""The body of one backtest in a worker process: resolve, load, run, serialise.

It runs in a separate process (see `runner`) so a strategy that spins, leaks or crashes
the interpreter costs its run, never the service. The strategy is resolved by name in the
worker with a fresh registry, so the newest version of a directory plugin is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from argosy.kernel.errors import ArgosyError
from argosy.services.strategy.backtest.data import Catalog
from argosy.services.strategy.backtest.engine import load_feed, run_backtest
from argosy.services.strategy.model_loading import use_blob
from argosy.services.strategy.plugins import StrategyRegistry
from argosy.services.strategy.schemas import BacktestRequest

__all__ = ["execute"]


def execute(request: dict[str, Any], data_dir: str, strategies_dir: str | None,
            model: tuple[bytes, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Everything JSON-able: summary, fills, round trips and the full equity curve."""
    body = BacktestRequest.model_validate(request)
    registry = StrategyRegistry(Path(strategies_dir) if strategies_dir else None)
    try:
        spec = body.to_spec(registry.get(body.strategy).cls)
        feed = load_feed(spec, Catalog(Path(data_dir)))
    except ArgosyError as error:
        return {"summary": {"status": "failed", "error": error.message}}
    strategy = spec.build()
    try:
        use_blob(strategy, model)  # a strategy that needs a model (ml_classifier)
    except ArgosyError as error:
        return {"summary": {"status": "failed", "error": error.message}}
    result = run_backtest(spec, feed, strategy=strategy)
    return {
        "summary": result.summary(),
        "fills": result.fills_json(),
        "trades": [t.as_dict() for t in result.trips],
        "equity": {"ts_ns": result.curve_ts.tolist(), "value": result.curve.tolist()},
        "signals": [{"ts_ns": ts, "name": name, "value": value}
                    for ts, name, value in result.signals[:10_000]],
    }
