"""Settings of the trading service (env prefix ARGOSY_TRADING_).

Every default works on a laptop: paper accounts trade on the in-process paper venue fed by
the market-data bus, instruments come from the market-data service, and the crash hook is
off. `crash_at` exists only so the crash tests can kill the process at an exact point.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from argosy.platform.settings import ServiceSettings

__all__ = ["CrashPoint", "TradingSettings"]

CrashPoint = Literal["off", "after_write", "after_send"]


class TradingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARGOSY_TRADING_", extra="ignore", frozen=True)

    instruments_ttl_s: float = Field(
        300.0, gt=0, description="How long instrument filters from market data are cached.")
    market_snapshot_poll_s: float = Field(
        2.0, ge=0, description="Where no md.book stream arrives, how often the paper venue's "
        "book is refreshed from the market-data HTTP snapshot (0 turns polling off).")
    not_found_misses: int = Field(
        5, ge=1, description="Consecutive 'not found' answers before an unknown order is "
        "declared gone (exchanges report fresh orders missing for tens of seconds).")
    not_found_window_s: float = Field(
        180.0, ge=0, description="...and the minimum time between the first and last miss.")
    reconcile_interval_s: float = Field(
        2.0, gt=0, description="How often unresolved (submitted_unknown) orders are queried, "
        "and a failed start-up reconciliation retried.")
    send_timeout_s: float = Field(
        10.0, gt=0, description="A venue call slower than this is an unknown outcome.")
    max_open_orders: int = Field(500, ge=1, description="Per account, before any risk rule.")
    perp_leverage: int = Field(1, ge=1, le=125, description="Margin = notional / leverage.")
    perp_maintenance_rate: Decimal = Field(
        Decimal("0.004"), gt=0, lt=1, description="Maintenance margin = notional x this "
        "rate (flat; 0.004 is Binance's first tier for BTCUSDT). Sets the liquidation price.")
    rules_reload_s: float = Field(
        30.0, gt=0, description="How often the risk rule set is fetched while it is missing.")
    position_mark_interval_s: float = Field(
        10.0, ge=0, description="How often open positions are marked to market and a "
        "`trading.position` event published for those whose mark moved (0: only on fills).")
    crash_at: CrashPoint = Field(
        "off", description="Test hook: SIGKILL itself between write and send, or send and "
        "ack (the crash tests). Off by default.")
    crash_marker_file: Path | None = Field(
        None, description="With crash_at: crash only while this file does not exist, and "
        "create it first, so the restarted process recovers instead of crashing again.")
    risk_rules_path: str = Field(
        "/internal/v1/risk/rules", description="The risk service's rule set (internal API).")
    paper_latency_ms: int = Field(0, ge=0, le=10_000, description="Paper venue latency.")
    paper_slippage_bps: int = Field(0, ge=0, le=1000, description="Paper taker slippage.")
    algo_tick_s: float = Field(
        0.5, gt=0, description="How often execution algorithms are looked at: due TWAP/VWAP "
        "slices, POV and iceberg on market data, child reports folded into their parent.")
