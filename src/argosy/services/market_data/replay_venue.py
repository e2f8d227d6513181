"""Where `argosy run` finds recordings for its replay venue, and what it tells the service.

The default for `argosy run` is replay: this platform is meant to start with markets
moving on a laptop with no exchange access. The recordings are ../shared/data next to the
source tree (or `ARGOSY_MARKET_DATA_REPLAY_DATA_DIR`); without them the service is told
replay mode with no venue, and its /api/v1/market/feeds says so. Setting
`ARGOSY_MARKET_DATA_BINANCE_MODE=live` (or `off`) switches this off; an existing replay
server can be used instead with `ARGOSY_MARKET_DATA_REPLAY_URL`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import argosy
from argosy.services.market_data.settings import MarketDataSettings

__all__ = ["ReplayPlan", "default_data_dir", "plan_replay"]


@dataclass
class ReplayPlan:
    env: dict[str, str] = field(default_factory=dict)  # for the market-data service
    files: list[Path] = field(default_factory=list)  # a child replay venue serves these
    speed: float = 1.0
    message: str = ""


def default_data_dir(cwd: Path | None = None) -> Path | None:
    """../shared/data beside the source tree (or the working directory), if present."""
    tree = Path(argosy.__file__).resolve().parents[2]  # <repo>/src/argosy/__init__.py
    for candidate in (tree.parent / "shared" / "data",
                      (cwd or Path.cwd()).parent / "shared" / "data"):
        if candidate.is_dir():
            return candidate
    return None


def plan_replay(settings: MarketDataSettings) -> ReplayPlan:
    if "binance_mode" in settings.model_fields_set and settings.binance_mode != "replay":
        return ReplayPlan(message=f"market data: Binance {settings.binance_mode}")
    env = {"ARGOSY_MARKET_DATA_BINANCE_MODE": "replay"}
    if settings.replay_url:
        return ReplayPlan(env, message=f"market data: replay venue at {settings.replay_url}")
    root = settings.replay_data_dir or default_data_dir()
    files = sorted({p for pattern in settings.replay_files
                    for p in (root.glob(pattern) if root else []) if p.is_file()})
    if not files:
        where = root or "../shared/data (not found)"
        return ReplayPlan(env, message=(
            f"market data: no recordings at {where}; no venue until "
            "ARGOSY_MARKET_DATA_REPLAY_DATA_DIR points at some "
            "(or set ARGOSY_MARKET_DATA_BINANCE_MODE=live)"))
    return ReplayPlan(env, files, settings.replay_speed,
                      f"market data: replaying {len(files)} recordings from {root} "
                      "(ARGOSY_MARKET_DATA_BINANCE_MODE=live for Binance)")
