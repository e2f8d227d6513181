"""exchangeInfo -> Instrument: filters, status, and what is skipped (and why)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from argosy.kernel.instruments import InstrumentKind
from argosy.kernel.money import Money, Price, Quantity
from argosy.venues.binance.instruments import parse_exchange_info
from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.replay.exchange_info import build_exchange_info


def test_spot_and_perp_instruments_from_real_filters() -> None:
    spot = parse_exchange_info(
        build_exchange_info(BinanceMarket.SPOT, {"BTCUSDT"}, 1, 6000), BinanceMarket.SPOT
    )
    (btc,) = spot.instruments
    assert str(btc.id) == "BTC-USDT.binance"
    assert btc.trading
    assert btc.status == "TRADING"
    assert btc.instrument.tick_size == Price("0.01")
    assert btc.instrument.lot_size == Quantity("0.00001")
    assert btc.instrument.min_notional == Money("5", "USDT")
    assert btc.instrument.max_qty == Quantity("9000")
    assert spot.weight_limit_per_minute == 6000
    perp = parse_exchange_info(
        build_exchange_info(BinanceMarket.USDM, {"BTCUSDT", "XRPUSDT"}, 1, 2400),
        BinanceMarket.USDM,
    )
    by = perp.by_symbol()
    assert str(by["BTCUSDT"].id) == "BTC-USDT-PERP.binance"
    assert by["BTCUSDT"].instrument.kind is InstrumentKind.PERP
    assert by["BTCUSDT"].instrument.tick_size.value == Decimal("0.1")
    assert by["XRPUSDT"].instrument.lot_size == Quantity("0.1")


def test_dated_futures_and_broken_filters_are_skipped_with_a_reason() -> None:
    # BTCUSDT_210625 as /fapi/v1/exchangeInfo listed it on 2021-04-17 (cryptofeed sample).
    dated: dict[str, Any] = {
        "symbol": "BTCUSDT_210625", "pair": "BTCUSDT", "contractType": "CURRENT_QUARTER",
        "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT",
        "filters": [{"minPrice": "0.1", "maxPrice": "500000", "filterType": "PRICE_FILTER",
                     "tickSize": "0.1"},
                    {"stepSize": "0.001", "filterType": "LOT_SIZE", "maxQty": "500",
                     "minQty": "0.001"}],
    }
    broken = dict(dated, symbol="ZEROUSDT", contractType="PERPETUAL", baseAsset="ZERO",
                  filters=[{"filterType": "PRICE_FILTER", "tickSize": "0"},
                           {"filterType": "LOT_SIZE", "stepSize": "1", "minQty": "1"}])
    info = parse_exchange_info({"symbols": [dated, broken]}, BinanceMarket.USDM)
    assert info.instruments == []
    assert "contractType" in info.skipped["BTCUSDT_210625"]
    assert "tick_size" in info.skipped["ZEROUSDT"]
