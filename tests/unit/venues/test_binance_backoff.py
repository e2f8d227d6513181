"""Reconnect delays: exponential, capped, jittered."""

from __future__ import annotations

import random

from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.binance.ws import BinanceStreamClient, StreamSettings


def test_backoff_grows_is_capped_and_jittered() -> None:
    client = BinanceStreamClient(
        BinanceMarket.SPOT, lambda *_: None, rng=random.Random(1),
        settings=StreamSettings(backoff_initial_s=0.5, backoff_max_s=30.0),
    )
    for attempt, ceiling in [(0, 0.5), (1, 1.0), (3, 4.0), (6, 30.0), (50, 30.0)]:
        delays = [client.backoff_delay(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len({round(d, 6) for d in delays}) > 150  # jittered, not a fixed schedule
    assert client.control_per_second == 4  # Binance spot allows 5; one is kept for pongs
    assert client.per_connection == 1024
    futures = BinanceStreamClient(BinanceMarket.USDM, lambda *_: None)
    assert (futures.control_per_second, futures.per_connection) == (9, 200)
    assert futures.max_age == 24 * 3600 - 1800  # replaced half an hour before the cut-off
