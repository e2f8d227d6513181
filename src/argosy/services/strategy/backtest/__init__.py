"""The event-driven backtester: strategies over recorded data through the paper venue.

It lives beside `domain/` and not in it because it wires the paper venue (venues layer)
and reads files; the strategies and every calculation it uses are in `domain/`.
"""

from argosy.services.strategy.backtest.data import Catalog, Dataset
from argosy.services.strategy.backtest.engine import Feed, load_feed, run_backtest
from argosy.services.strategy.backtest.result import BacktestResult
from argosy.services.strategy.backtest.spec import BacktestSpec

__all__ = ["BacktestResult", "BacktestSpec", "Catalog", "Dataset", "Feed", "load_feed",
           "run_backtest"]
