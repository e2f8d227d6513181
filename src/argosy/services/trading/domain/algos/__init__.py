"""Execution algorithms as pure parent-order state machines (TWAP, VWAP, iceberg, POV).

The trading service drives them: `step(now_ns, MarketSnapshot)` on its cadence and on
market data, `on_report(ExecutionReport)` for every report of a child, `pause`/`resume`/
`cancel` from the API. Each call returns intents (`SubmitChild` with a ready
`OrderRequest`, `CancelChild`) that the service persists and carries out; `checkpoint()`
and `restore()` move the mutable state to and from a JSON column. See docs/trading-algos.md.
"""

from argosy.services.trading.domain.algos._base import ParentAlgo
from argosy.services.trading.domain.algos._model import (
    AlgoStatus,
    CancelChild,
    ChildOrder,
    Intent,
    MarketSnapshot,
    ParentSpec,
    SubmitChild,
    slippage_bound,
    slippage_bps,
)
from argosy.services.trading.domain.algos.iceberg import Iceberg
from argosy.services.trading.domain.algos.pov import Pov
from argosy.services.trading.domain.algos.schedule import (
    Schedule,
    Twap,
    VolumeProfile,
    Vwap,
    build_schedule,
)

__all__ = [
    "AlgoStatus",
    "CancelChild",
    "ChildOrder",
    "Iceberg",
    "Intent",
    "MarketSnapshot",
    "ParentAlgo",
    "ParentSpec",
    "Pov",
    "Schedule",
    "SubmitChild",
    "Twap",
    "VolumeProfile",
    "Vwap",
    "build_schedule",
    "slippage_bound",
    "slippage_bps",
]
