"""Backtest runs over the real recordings, shared by the strategy tests (cached per spec)."""

from __future__ import annotations

from functools import cache

from argosy.kernel.instruments import InstrumentId
from argosy.services.strategy.backtest import BacktestSpec, Catalog, Feed, load_feed
from tests.support.servers import SHARED_DATA

__all__ = ["BTC_FTX", "catalog", "feed_for", "iid"]

BTC_FTX = "BTC-USD.ftx"


def iid(text: str) -> InstrumentId:
    return InstrumentId.parse(text)


@cache
def catalog() -> Catalog:
    return Catalog(SHARED_DATA)


_FEEDS: dict[tuple[object, ...], Feed] = {}


def feed_for(spec: BacktestSpec) -> Feed:
    """Loading parses every price into Decimals: do it once per data selection."""
    key = (spec.instruments, spec.mode, spec.interval, spec.start_ns, spec.end_ns)
    if key not in _FEEDS:
        _FEEDS[key] = load_feed(spec, catalog())
    return _FEEDS[key]
