"""The bundled tick sizes fit every recorded price of their symbol.

A tick copied wrong (or from the wrong era) shows up here as a recorded price that is not
a multiple of it. Sizes are not checked against LOT_SIZE: a resting order partly filled by
a quote-sized market order leaves a remainder finer than the step (BTCUSDT spot shows
25.426189 against a 0.00001 step), so book and trade sizes need not be multiples.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.replay.exchange_info import FILTER_SOURCES
from tests.support.binance_data import stream_events

CASES = [
    ("binance_spot_BTCUSDT_20240808.jsonl.gz", BinanceMarket.SPOT),
    ("binance_usdm_BTCUSDT_20240808.jsonl.gz", BinanceMarket.USDM),
    ("cryptofeed_binance_usdm_20210722.jsonl", BinanceMarket.USDM),
]


def _pairs(data: dict[str, object]) -> list[tuple[str, str]]:
    event = data.get("e", "bookTicker")
    if event == "depthUpdate":
        return [(p, q) for p, q in [*data["b"], *data["a"]]]  # type: ignore[misc]
    if event in ("trade", "aggTrade"):
        return [(data["p"], data["q"])]  # type: ignore[list-item]
    if event == "bookTicker":
        return [(data["b"], data["B"]), (data["a"], data["A"])]  # type: ignore[list-item]
    return []


@pytest.mark.parametrize(("file", "market"), CASES)
def test_recorded_prices_fit_the_bundled_filters(file: str, market: BinanceMarket) -> None:
    checked = 0
    for _, _, data in stream_events(file):
        source = FILTER_SOURCES.get((market, str(data.get("s"))))
        if source is None:
            continue
        filters = {f["filterType"]: f for f in source[2]}
        tick = Decimal(filters["PRICE_FILTER"]["tickSize"])
        for price, _ in _pairs(data):
            assert Decimal(price) % tick == 0, (data["s"], price, tick)
            checked += 1
    assert checked > 1000
