"""Real market inputs for the trading tests: Binance's instrument filters (from recorded
exchangeInfo, venues/replay/exchange_info.py) and recorded L2 depth snapshots from
/work/shared/data, served the way the market-data HTTP API serves them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from argosy.kernel.errors import NotFound
from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.replay.exchange_info import build_exchange_info
from tests.support.servers import SHARED_DATA

__all__ = ["PERP", "SPOT", "book_of", "instrument_rows"]

SPOT = "BTC-USDT.binance"
PERP = "BTC-USDT-PERP.binance"


def _filters(market: BinanceMarket) -> dict[str, Mapping[str, Any]]:
    info = build_exchange_info(market, {"BTCUSDT"}, 0, 1200)
    return {f["filterType"]: f for f in info["symbols"][0]["filters"]}


def _row(instrument_id: str, market: BinanceMarket, kind: str) -> dict[str, Any]:
    f = _filters(market)
    notional = f.get("NOTIONAL", f.get("MIN_NOTIONAL", {}))
    return {
        "instrument_id": instrument_id, "venue": "binance", "market": market.value,
        "symbol": "BTCUSDT", "base": "BTC", "quote": "USDT", "kind": kind,
        "status": "TRADING", "tick_size": f["PRICE_FILTER"]["tickSize"],
        "lot_size": f["LOT_SIZE"]["stepSize"], "min_qty": f["LOT_SIZE"]["minQty"],
        "min_notional": notional.get("minNotional") or notional.get("notional"),
        "max_qty": f["LOT_SIZE"]["maxQty"], "source": "exchangeInfo", "updated_ns": 0,
        "subscribed": True,
    }


def instrument_rows() -> list[dict[str, Any]]:
    return [_row(SPOT, BinanceMarket.SPOT, "spot"), _row(PERP, BinanceMarket.USDM, "perp")]


_FILES = {SPOT: "binance_spot_BTCUSDT_rest_depth_snapshots.jsonl",
          PERP: "binance_usdm_BTCUSDT_rest_depth_snapshots.jsonl"}


def book_of(instrument: str, depth: int = 50) -> dict[str, Any]:
    """The first recorded REST depth snapshot, as GET /api/v1/market/book answers."""
    name = _FILES.get(instrument)
    if name is None:
        raise NotFound(f"no book for {instrument}", field="instrument")
    with (SHARED_DATA / "book" / name).open() as fh:
        line = json.loads(fh.readline())
    msg = line["msg"]
    return {"instrument": instrument, "sequence": msg["lastUpdateId"], "ts_ns": line["recv_ts_ns"],
            "bids": msg["bids"][:depth], "asks": msg["asks"][:depth]}
