"""exchangeInfo for the replay server: the recorded symbols with real Binance filters.

Recordings carry prices and sizes but not the trading rules, so the filter values below
are copied from exchangeInfo responses Binance really sent, each with its source. A symbol
with no known source is left out of exchangeInfo rather than given made-up rules (its
streams and REST data are still served): today that is spot NKNUSDT, BLZETH, LRCBTC,
RUNEEUR, XRPETH and USD-M KEEPUSDT. A full response can be supplied instead (`--exchange-info`).

Sources:
- [ccxt] github.com/ccxt/ccxt ts/src/test/static/markets/binance.json (commit 0dca8ac0),
  the `info` of BTC/USDT and BTC/USDT:USDT: raw exchangeInfo entries of 2024, the year of the
  hftbacktest recordings.
- [cf-2021] github.com/bmoscon/cryptofeed sample_data/BINANCE_FUTURES.0 (commit be4e5c81):
  /fapi/v1/exchangeInfo recorded 2021-04-17, three months before the cryptofeed USD-M
  recording (tick sizes may have been changed since; every recorded price is still a
  multiple of them, which tests/unit/venues/test_replay_exchange_info.py checks).
"""

from __future__ import annotations

from typing import Any, Final

from argosy.venues.binance.markets import BinanceMarket

__all__ = ["FILTER_SOURCES", "build_exchange_info", "known_symbols"]


def _spot(tick: str, step: str, min_qty: str, max_qty: str, notional: str) -> list[dict[str, Any]]:
    return [
        {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000.00000000",
         "tickSize": tick},
        {"filterType": "LOT_SIZE", "minQty": min_qty, "maxQty": max_qty, "stepSize": step},
        {"filterType": "NOTIONAL", "minNotional": notional, "applyMinToMarket": True,
         "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
    ]


def _usdm(
    min_price: str, max_price: str, tick: str, step: str, min_qty: str, max_qty: str,
    notional: str,
) -> list[dict[str, Any]]:
    return [
        {"minPrice": min_price, "maxPrice": max_price, "filterType": "PRICE_FILTER",
         "tickSize": tick},
        {"stepSize": step, "filterType": "LOT_SIZE", "maxQty": max_qty, "minQty": min_qty},
        {"notional": notional, "filterType": "MIN_NOTIONAL"},
    ]


_Entry = tuple[str, str, list[dict[str, Any]], str]  # base, quote, filters, source key

FILTER_SOURCES: Final[dict[tuple[BinanceMarket, str], _Entry]] = {
    (BinanceMarket.SPOT, "BTCUSDT"): (
        "BTC", "USDT",
        _spot("0.01000000", "0.00001000", "0.00001000", "9000.00000000", "5.00000000"),
        "ccxt",
    ),
    (BinanceMarket.USDM, "BTCUSDT"): (
        "BTC", "USDT", _usdm("556.80", "4529764", "0.10", "0.001", "0.001", "1000", "5"), "ccxt"
    ),
    (BinanceMarket.USDM, "XRPUSDT"): (
        "XRP", "USDT", _usdm("0.0001", "100000", "0.0001", "0.1", "0.1", "1000000", "5"),
        "cf-2021",
    ),
    (BinanceMarket.USDM, "SUSHIUSDT"): (
        "SUSHI", "USDT", _usdm("0.0001", "500", "0.0001", "1", "1", "10000000", "5"), "cf-2021"
    ),
    (BinanceMarket.USDM, "AKROUSDT"): (
        "AKRO", "USDT", _usdm("0.00001", "100", "0.00001", "1", "1", "10000000", "5"),
        "cf-2021",
    ),
    (BinanceMarket.USDM, "CTKUSDT"): (
        "CTK", "USDT", _usdm("0.00001", "100", "0.00001", "1", "1", "10000000", "5"), "cf-2021"
    ),
}


def known_symbols(market: BinanceMarket) -> set[str]:
    return {symbol for m, symbol in FILTER_SOURCES if m is market}


def _symbol_entry(market: BinanceMarket, symbol: str) -> dict[str, Any]:
    base, quote, filters, _ = FILTER_SOURCES[(market, symbol)]
    if market is BinanceMarket.SPOT:
        return {
            "symbol": symbol, "status": "TRADING", "baseAsset": base, "baseAssetPrecision": 8,
            "quoteAsset": quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT",
                           "TAKE_PROFIT_LIMIT"],
            "isSpotTradingAllowed": True, "isMarginTradingAllowed": True,
            "filters": filters, "permissions": ["SPOT"],
        }
    return {
        "symbol": symbol, "pair": symbol, "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000, "onboardDate": 1569398400000, "status": "TRADING",
        "baseAsset": base, "quoteAsset": quote, "marginAsset": quote,
        "underlyingType": "COIN", "filters": filters,
        "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT",
                       "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    }


def build_exchange_info(
    market: BinanceMarket, symbols: set[str], server_time_ms: int, weight_limit: int
) -> dict[str, Any]:
    """The exchangeInfo body for `symbols` (those with a filter source)."""
    chosen = sorted(symbols & known_symbols(market))
    body: dict[str, Any] = {
        "timezone": "UTC",
        "serverTime": server_time_ms,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
             "limit": weight_limit},
        ],
        "exchangeFilters": [],
        "symbols": [_symbol_entry(market, s) for s in chosen],
    }
    if market is BinanceMarket.USDM:
        body["futuresType"] = "U_MARGINED"
        body["assets"] = [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "0"}]
    return body
