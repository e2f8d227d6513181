"""Request and response bodies of the market-data API (what /openapi.json documents).

Decimals are strings (canonical: no exponent, no trailing zeros); times are int
nanoseconds UTC, the platform's edge format.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = [
    "BackfillJob", "BackfillRequest", "Book", "CandlePage", "ContinuityReport", "Gap",
    "GapPage", "InstrumentPage", "JobPage", "SubscriptionPage", "SubscriptionRequest",
    "TickerPage", "TradePage",
]


class Instrument(BaseModel):
    instrument_id: str = Field(examples=["BTC-USDT.binance"])
    venue: str
    market: str = Field(description="spot | usdm (Binance), spot | swap (ccxt)")
    symbol: str = Field(description="The venue's symbol, e.g. BTCUSDT.")
    base: str
    quote: str
    kind: Literal["spot", "perp"]
    status: str = Field(description="TRADING, BREAK, ... as the venue says; unknown for "
                                    "instruments only ever backfilled.")
    tick_size: str | None
    lot_size: str | None
    min_qty: str | None
    min_notional: str | None
    max_qty: str | None
    source: str = Field(description="exchangeInfo | ccxt | backfill")
    updated_ns: int
    subscribed: bool


class InstrumentPage(BaseModel):
    items: list[Instrument]
    next_cursor: str | None


class Candle(BaseModel):
    ts_open_ns: int
    ts_close_ns: int = Field(description="Exclusive: the next bar's open.")
    open: str
    high: str
    low: str
    close: str
    volume: str
    trades: int
    final: bool = Field(description="False for the bar still forming (the last one).")


class CandlePage(BaseModel):
    instrument: str
    interval: str
    source: str
    items: list[Candle]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class Trade(BaseModel):
    trade_id: str
    ts_ns: int
    price: str
    quantity: str
    aggressor_side: Literal["buy", "sell"]


class TradePage(BaseModel):
    instrument: str
    stream: str
    items: list[Trade]
    next_cursor: str | None


class Book(BaseModel):
    instrument: str
    sequence: int = Field(description="The venue's last update id applied.")
    ts_ns: int
    bids: list[list[str]] = Field(description="[price, size], best first")
    asks: list[list[str]]


class TickerPage(BaseModel):
    items: list[dict[str, Any]] = Field(
        description="Per instrument: bid, bid_qty, ask, ask_qty, last_price, last_qty, "
                    "last_side, last_trade_id, times in ns.")


class Gap(BaseModel):
    id: int
    instrument: str
    stream: Literal["trades", "book"]
    cause: str = Field(description="reconnect, stale_feed, sequence_gap, trade_gap, "
                                   "downtime, storage, book_sync_failed, crossed_book")
    status: Literal["open", "repaired", "partial", "unrepairable"]
    started_ns: int
    ended_ns: int | None
    first_missing_id: int | None
    last_missing_id: int | None
    repaired: int
    method: str = Field(description="connector_rest, rest_historical_trades, rest_klines, "
                                    "book_snapshot, none_missed")
    detail: str
    found_ns: int
    updated_ns: int


class GapPage(BaseModel):
    items: list[Gap]


class ContinuityDay(BaseModel):
    day: str
    trades: int
    first_trade_id: int | None
    last_trade_id: int | None
    first_ts_ns: int | None
    last_ts_ns: int | None
    missing_trade_ids: int = Field(description="Ids absent from storage between the day's "
                                               "first and last stored trade.")
    holes: list[list[int]] = Field(description="Missing id ranges (first 100).")
    bars_1m: int
    gaps: list[Gap]
    kline_mismatches: int
    complete: bool


class ContinuityReport(BaseModel):
    instrument: str
    days: list[ContinuityDay]


class SubscriptionRequest(BaseModel):
    instrument: str = Field(examples=["ETH-USDT-PERP.binance"])


class Subscription(BaseModel):
    instrument: str
    active: bool
    source: str = Field(description="config (the instruments document) or api")
    changed_by: str
    changed_ns: int
    state: str = Field(description="recording, pending, waiting, unlisted, halted, off, "
                                   "inactive")
    detail: str


class SubscriptionPage(BaseModel):
    items: list[Subscription]


class BackfillRequest(BaseModel):
    instrument: str = Field(examples=["BTC-USDT.binance"])
    source: Literal["rest", "archive"] = "rest"
    kind: Literal["trades", "aggTrades", "klines"] = "trades"
    start: str | None = Field(None, description="ns, ISO 8601 or YYYY-MM-DD")
    end: str | None = None
    from_id: int | None = None
    to_id: int | None = None
    interval: str = "1m"
    paths: list[str] = Field(default_factory=list,
                             description="Archive files on the service's machine.")
    reconcile: bool = True


class BackfillJob(BaseModel):
    id: str
    status: str
    params: dict[str, Any] = Field(default_factory=dict)
    instrument: str | None = None
    source: str | None = None
    kind: str | None = None
    rows: int = 0
    bars: int = 0
    detail: str = ""
    created_by: str | None = None
    created_ns: int | None = None
    finished_ns: int | None = None


class JobPage(BaseModel):
    items: list[BackfillJob]
