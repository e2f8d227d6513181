"""The paper venue: a matching engine over real market data, as a library.

The trading service runs it for paper accounts (fed by the market-data bus, `LiveClock`);
the strategy backtester runs it over recorded data with a `SimClock`. Same code, so a
backtest's fills are the fills paper trading would have produced on the same data.

Matching model (details in `_engine` and `_bars`):
- the venue's public L2 book is mirrored from snapshots and deltas; takers walk it level by
  level (partial fills across levels), at the level price worsened by `slippage_bps`;
- resting orders keep price-time priority behind an estimate of the queue ahead of them
  (the level's size at entry), consumed by trades at their price and by cancels per
  `queue_model`; a trade through their price or an opposite quote onto it fills them;
- stops, take-profits and trailing stops trigger on trades (bar paths in bar mode);
- balances (spot) and positions with margin (perpetuals) move with every fill, exactly.

Modes, by what data arrives: L2 (snapshots/deltas, plus trades for queues and triggers),
quotes only (a one-level book), trades only (market orders fill at the next trade) and bars
(`_bars`: next-open market fills, the peers' rule). `recorded.replay` pushes a recorded
Binance stream through the same entry points live paper trading uses.
"""

from argosy.venues.paper._ledger import PositionView
from argosy.venues.paper.settings import FeeSchedule, PaperSettings, QueueModel
from argosy.venues.paper.venue import PaperVenue

__all__ = ["FeeSchedule", "PaperSettings", "PaperVenue", "PositionView", "QueueModel"]
