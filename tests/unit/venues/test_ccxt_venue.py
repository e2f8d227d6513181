"""ccxt path: capability rows from ccxt's `has`, and normalization through ccxt's own parse
functions fed with recorded Binance payloads, cross-checked with the native connector."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt  # type: ignore[import-untyped]
import pytest

from argosy.kernel.errors import Invalid, VenueReconcile, VenueRejected, VenueRetry
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Interval
from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.binance.normalize import agg_trade_tick, trade_tick
from argosy.venues.binance.payloads import parse_depth_snapshot
from argosy.venues.book import OrderBook
from argosy.venues.ccxt_venue import (
    CcxtNormalizer,
    capabilities,
    capability_table,
    instrument_id_for,
    venue_error,
)
from argosy.venues.replay.exchange_info import build_exchange_info
from tests.support.binance_data import rest_snapshots, stream_events


def _exchange() -> Any:
    exchange = ccxt.binance()
    exchange.number = str
    # fetch_markets sets these from the margin endpoints before parsing; we parse offline.
    exchange.options["crossMarginPairsData"] = []
    exchange.options["isolatedMarginPairsData"] = []
    return exchange


def _market(exchange: Any, market: BinanceMarket, symbol: str) -> dict[str, Any]:
    raw = build_exchange_info(market, {symbol}, 0, 1)["symbols"][0]
    parsed = exchange.parse_market(raw)
    exchange.set_markets([parsed])
    return parsed  # type: ignore[no-any-return]


def test_capability_rows_come_from_has() -> None:
    binance = capabilities("binance")
    assert (binance.trades, binance.order_book, binance.ohlcv) == ("watch", "watch", "watch")
    assert "1m" in binance.timeframes
    bigone = capabilities("bigone")  # no ccxt.pro class: REST polling
    assert (bigone.trades, bigone.order_book) == ("poll", "poll")
    some = ["kraken", "coinbase", "okx", "bybit", "bitget", "bitstamp", "bitflyer", "bitso",
            "btcturk", "bitbank"]
    table = capability_table(some)
    assert set(table) == set(some)
    assert table["kraken"].as_row()["trades"] == "watch"
    assert {row.trades for row in table.values()} == {"watch", "poll"}
    with pytest.raises(Invalid):
        capabilities("no-such-exchange")


def test_canonical_ids_for_ccxt_markets() -> None:
    exchange = _exchange()
    spot = _market(exchange, BinanceMarket.SPOT, "BTCUSDT")
    assert str(instrument_id_for(spot, "binance")) == "BTC-USDT.binance"
    perp = _market(exchange, BinanceMarket.USDM, "BTCUSDT")
    assert str(instrument_id_for(perp, "binance")) == "BTC-USDT-PERP.binance"
    assert instrument_id_for({"future": True, "base": "BTC", "quote": "USDT"}, "x") is None
    assert instrument_id_for({"spot": True, "base": "bad name", "quote": "USDT"}, "x") is None


def test_trade_through_ccxt_equals_the_native_connector() -> None:
    exchange = _exchange()
    spot = _market(exchange, BinanceMarket.SPOT, "BTCUSDT")
    iid = InstrumentId.parse("BTC-USDT.binance")
    normalizer = CcxtNormalizer("binance", {spot["symbol"]: iid})
    trades = [d for _, s, d in stream_events("binance_spot_BTCUSDT_20240808.jsonl.gz")
              if s.endswith("@trade")][:200]
    for data in trades:
        via_ccxt = normalizer.trade(exchange.parse_trade(data, spot), 1)
        assert via_ccxt == trade_tick(data, iid, 1)
        assert isinstance(exchange.parse_trade(data, spot)["price"], str)  # never a float


def test_agg_trade_through_ccxt_equals_the_native_connector() -> None:
    exchange = _exchange()
    perp = _market(exchange, BinanceMarket.USDM, "SUSHIUSDT")
    iid = InstrumentId.parse("SUSHI-USDT-PERP.binance")
    normalizer = CcxtNormalizer("binance", {perp["symbol"]: iid})
    aggs = [d for _, s, d in stream_events("cryptofeed_binance_usdm_20210722.jsonl")
            if s == "sushiusdt@aggTrade"]
    assert aggs
    for data in aggs:
        assert normalizer.trade(exchange.parse_trade(data, perp), 2) == agg_trade_tick(data, iid, 2)


def test_order_book_and_deltas_through_ccxt() -> None:
    exchange = _exchange()
    spot = _market(exchange, BinanceMarket.SPOT, "BTCUSDT")
    iid = InstrumentId.parse("BTC-USDT.binance")
    normalizer = CcxtNormalizer("binance", {spot["symbol"]: iid})
    raw = rest_snapshots("binance_spot_BTCUSDT_rest_depth_snapshots.jsonl")[0]["msg"]
    book = normalizer.book(exchange.parse_order_book(raw, spot["symbol"]), spot["symbol"])
    native = OrderBook("BTCUSDT")
    snap = parse_depth_snapshot(raw)
    native.load(snap.bids, snap.asks, snap.last_update_id)
    assert book.same_levels(native)
    deltas = normalizer.book_deltas(OrderBook("BTCUSDT"), book, spot["symbol"], 5)
    assert len(deltas) == len(raw["bids"]) + len(raw["asks"])
    assert all(d.instrument_id == iid for d in deltas)


def test_ohlcv_through_ccxt() -> None:
    exchange = _exchange()
    perp = _market(exchange, BinanceMarket.USDM, "XRPUSDT")
    iid = InstrumentId.parse("XRP-USDT-PERP.binance")
    normalizer = CcxtNormalizer("binance", {perp["symbol"]: iid})
    # The first row of ohlcv/binance_usdm_XRPUSDT_1h.csv in Binance's REST kline form.
    row = [1637110800000, "1.0801", "1.09758", "1.07654", "1.07925", "3153694.607359",
           1637114399999, "0", 0, "0", "0", "0"]
    bar = normalizer.bar(exchange.parse_ohlcv(row, perp), perp["symbol"], Interval.H1)
    assert (bar.open.value, bar.high.value, bar.volume.value) == (
        Decimal("1.0801"), Decimal("1.09758"), Decimal("3153694.607359"))
    assert bar.ts_close_ns - bar.ts_open_ns == 3600 * 10**9


def test_ccxt_errors_map_to_kernel_errors() -> None:
    assert isinstance(venue_error(ccxt.RequestTimeout("t"), "x"), VenueReconcile)
    assert isinstance(venue_error(ccxt.DDoSProtection("slow down"), "x"), VenueRetry)
    assert isinstance(venue_error(ccxt.BadSymbol("no"), "x"), VenueRejected)
    with pytest.raises(Invalid):
        CcxtNormalizer("binance", {}).trade({"symbol": "BTC/USDT", "side": "buy"}, 0)
