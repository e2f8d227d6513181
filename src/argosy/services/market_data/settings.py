"""Settings of the market-data service (env prefix ARGOSY_MARKET_DATA_), and the reloadable
ones it takes from its `settings` document in the config service.

Binance mode:
- `live`: the real exchange at the URLs below (Binance's own, by default);
- `replay`: a replay venue (`argosy replay`) at `replay_url`. `argosy run` starts one
  over the recordings in ../shared/data and sets this mode, unless the mode is set
  explicitly; this machine has no exchange access, and markets should move out of the box;
- `off`: no Binance connection (history, backfills and the API still work).
Under `argosy serve` the default is `live`: a deployment talks to the exchange.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from argosy.kernel.instruments import InstrumentId
from argosy.platform.runtime.live import RuntimeSettings
from argosy.platform.settings import ServiceSettings

__all__ = ["DEFAULT_INSTRUMENTS", "DEFAULT_REPLAY_FILES", "MarketDataSettings",
           "MarketRuntimeSettings"]

BinanceMode = Literal["live", "replay", "off"]

DEFAULT_INSTRUMENTS = ("BTC-USDT.binance", "ETH-USDT.binance", "BTC-USDT-PERP.binance",
                       "ETH-USDT-PERP.binance")
#: the hftbacktest recordings of 2024-08-08/09: one coherent stretch of spot and USD-M
#: BTCUSDT (streams, trade history, book snapshots), so a looped replay advances a day per
#: pass instead of years (other files span 2019..2024; list them to serve them too)
DEFAULT_REPLAY_FILES = (
    "ws/binance_spot_BTCUSDT_2024080*.jsonl.gz",
    "ws/binance_usdm_BTCUSDT_20240808.jsonl.gz",
    "trades/binance_spot_BTCUSDT_trades.csv",
    "trades/binance_usdm_BTCUSDT_trades.csv",
    "book/binance_spot_BTCUSDT_rest_depth_snapshots.jsonl",
    "book/binance_usdm_BTCUSDT_rest_depth_snapshots.jsonl",
)


class MarketDataSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARGOSY_MARKET_DATA_", extra="ignore", frozen=True)

    binance_mode: BinanceMode = Field("live", description="live | replay | off (see above).")
    spot_rest_url: str = Field("https://api.binance.com", description="Binance spot REST.")
    spot_ws_url: str = Field("wss://stream.binance.com:9443", description="Binance spot WS.")
    usdm_rest_url: str = Field("https://fapi.binance.com", description="Binance USD-M REST.")
    usdm_ws_url: str = Field("wss://fstream.binance.com", description="Binance USD-M WS.")
    replay_url: str | None = Field(
        None, description="Base URL of a replay venue (set by `argosy run` in replay mode).")
    replay_data_dir: Path | None = Field(
        None, description="Recordings `argosy run` replays (default: ../shared/data next to "
                          "the source tree, when present).")
    replay_files: tuple[str, ...] = Field(
        DEFAULT_REPLAY_FILES, description="Glob patterns under replay_data_dir (JSON list).")
    replay_speed: float = Field(1.0, gt=0, le=1000, description="Replay clock speed.")
    instruments: tuple[str, ...] = Field(
        DEFAULT_INSTRUMENTS,
        description="Recorded when the config service has no `instruments` document.")
    ccxt_options: dict[str, dict[str, object]] = Field(
        default_factory=dict, description="Per ccxt venue: options for its constructor.")
    instruments_refresh_s: float = Field(3600.0, ge=1, description="exchangeInfo refresh.")
    subscriptions_poll_s: float = Field(30.0, ge=0.1, description="Re-read subscriptions.")
    stale_after_s: float = Field(30.0, ge=0, description="No data this long: reconnect.")
    flush_interval_s: float = Field(0.5, gt=0, le=60, description="Storage buffer age bound.")
    flush_rows: int = Field(20_000, ge=1, description="Storage buffer size bound (rows).")
    max_buffer_rows: int = Field(2_000_000, ge=1000,
                                 description="Rows kept while storage is down.")
    publish_interval_s: float = Field(0.1, gt=0, le=10, description="Bus batching window.")
    book_snapshot_s: float = Field(60.0, gt=0, description="Stored/published L2 snapshots.")
    book_snapshot_depth: int = Field(
        0, ge=0, le=5000, description="Levels per side in snapshots; 0: the whole book "
                                      "(what rebuilding a stored book needs).")
    trades_retention_days: int = Field(0, ge=0, description="0 keeps forever.")
    bars_retention_days: int = Field(0, ge=0, description="0 keeps forever.")
    book_retention_days: int = Field(14, ge=0, description="Deltas and snapshots; 0 forever.")
    repair_max_trades: int = Field(200_000, ge=0, description="Largest REST trade repair.")
    repair_delay_s: float = Field(2.0, ge=0, description="Wait before checking a gap.")
    reconcile_every_s: float = Field(600.0, ge=0, description="Klines check; 0 disables.")
    config_wait_s: float = Field(
        5.0, ge=0, description="How long to wait for the config service's instrument list "
                               "before recording the defaults.")
    public_reads: bool = Field(
        False, description="Serve GET routes without an identity (off: market:read needed).")

    @field_validator("instruments")
    @classmethod
    def _ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            InstrumentId.parse(text, field="instruments")
        return value


class MarketRuntimeSettings(RuntimeSettings):
    """Reloaded live from the `settings` document."""

    outlier_band: float = Field(0.05, gt=0, le=1, description="Max relative distance to mid.")
    outlier_min_samples: int = Field(20, ge=1)
    outlier_quote_max_age_s: float = Field(5.0, gt=0)
