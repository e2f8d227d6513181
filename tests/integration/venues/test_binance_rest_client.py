"""BinanceRestClient against the replay server: weights, 429, 418, 5xx, error mapping."""

from __future__ import annotations

import asyncio
import csv
from decimal import Decimal

import httpx
import pytest

from argosy.kernel.errors import VenueRejected, VenueRetry
from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.binance.rest import BinanceRestClient, RestSettings
from tests.integration.venues.conftest import SPOT_TRADES, SPOT_WS, USDM_WS, MakeReplay
from tests.support.binance_data import SHARED_DATA, trade_rows

pytestmark = pytest.mark.integration


def _ohlcv(name: str) -> list[dict[str, str]]:
    with (SHARED_DATA / "ohlcv" / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


class Sleeps:
    """Records what the client waited for, without waiting (except for `real`)."""

    def __init__(self, real: bool = False) -> None:
        self.calls: list[float] = []
        self.real = real

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.real:
            await asyncio.sleep(seconds)


async def test_weight_header_is_tracked(make_replay: MakeReplay) -> None:
    server = await make_replay([SPOT_WS, SPOT_TRADES], seconds=150, speed=None, start="now")
    await server.wait_finished()
    client = BinanceRestClient(BinanceMarket.SPOT, base_url=server.rest_url)
    try:
        info = await client.exchange_info()
        assert info.weight_limit_per_minute == 6000 == client.weight.limit
        snapshot = await client.depth("BTCUSDT", 100)
        assert snapshot.last_update_id > 0
        trades = [t async for t in client.iter_historical_trades("BTCUSDT", 3735683259,
                                                                  3735683259 + 1199, page=500)]
        assert [t["id"] for t in trades] == list(range(3735683259, 3735683259 + 1200))
        used = 20 + 5 + 3 * 25
        assert client.weight.used(client._clock.now_ns()) == used == server.weights[
            BinanceMarket.SPOT].used
        assert await client.server_time_ms() == server.player.now_ns // 1_000_000
    finally:
        await client.aclose()


async def test_paginated_history_matches_the_recordings(make_replay: MakeReplay) -> None:
    server = await make_replay(["trades/binance_spot_XRPETH_aggtrades.csv",
                                "ohlcv/binance_spot_XRPETH_1m.csv"])
    client = BinanceRestClient(BinanceMarket.SPOT, base_url=server.rest_url)
    try:
        first = 13519807
        agg = [a async for a in client.iter_agg_trades("XRPETH", first, first + 2499, page=1000)]
        assert [a["a"] for a in agg] == list(range(first, first + 2500))
        rows = trade_rows("binance_spot_XRPETH_aggtrades.csv")[:2500]
        assert [(a["p"], a["q"]) for a in agg] == [(r["price"], r["qty"]) for r in rows]
        start, end = 1570752000000, 1570752000000 + 2000 * 60_000
        klines = [k async for k in client.iter_klines("XRPETH", "1m", start, end, page=500)]
        recorded = [r for r in _ohlcv("binance_spot_XRPETH_1m.csv")
                    if start <= int(r["open_time_ms"]) <= end]
        assert [k[0] for k in klines] == [int(r["open_time_ms"]) for r in recorded]
        assert [Decimal(k[4]) for k in klines] == [Decimal(r["close"]) for r in recorded]
    finally:
        await client.aclose()


async def test_429_is_retried_after_retry_after(make_replay: MakeReplay) -> None:
    server = await make_replay([USDM_WS], seconds=10, speed=None, start="now")
    sleeps = Sleeps()
    client = BinanceRestClient(BinanceMarket.USDM, base_url=server.rest_url, sleep=sleeps)
    try:
        server.reject_next(429, retry_after_s=7)
        assert (await client.exchange_info()).instruments
        assert sleeps.calls == [7.0]
        assert [s for _, s in server.rest_log] == [429, 200]
        server.reject_next(429, count=4, retry_after_s=1)
        with pytest.raises(VenueRetry) as caught:
            await client.ping()
        assert caught.value.venue_code == "-1003"
        assert caught.value.details["retry_after"] == 1.0
    finally:
        await client.aclose()


async def test_418_bans_and_stops_sending(make_replay: MakeReplay) -> None:
    server = await make_replay([SPOT_WS], seconds=10, speed=None, start="now")
    client = BinanceRestClient(BinanceMarket.SPOT, base_url=server.rest_url, sleep=Sleeps())
    try:
        server.reject_next(418, retry_after_s=300)
        with pytest.raises(VenueRetry) as caught:
            await client.ping()
        assert caught.value.details["status"] == 418
        before = len(server.rest_log)
        with pytest.raises(VenueRetry, match="ban"):
            await client.depth("BTCUSDT")
        assert len(server.rest_log) == before  # nothing reached the server during the ban
        assert client.weight.banned(client._clock.now_ns())
    finally:
        await client.aclose()


async def test_5xx_retried_then_given_up_and_4xx_rejected(make_replay: MakeReplay) -> None:
    server = await make_replay([SPOT_WS], seconds=10, speed=None, start="now")
    sleeps = Sleeps()
    client = BinanceRestClient(BinanceMarket.SPOT, base_url=server.rest_url, sleep=sleeps,
                               settings=RestSettings(max_retries=2, retry_backoff_s=0.5))
    try:
        server.reject_next(503, count=2)
        await client.ping()
        assert sleeps.calls == [0.5, 1.0]
        server.reject_next(500, count=3)
        with pytest.raises(VenueRetry):
            await client.ping()
        with pytest.raises(VenueRejected) as rejected:
            await client.depth("NOTASYMBOL")
        assert rejected.value.venue_code == "-1121"
    finally:
        await client.aclose()


async def test_client_waits_for_the_next_window_instead_of_hitting_429(
    make_replay: MakeReplay,
) -> None:
    server = await make_replay([SPOT_WS], seconds=10, speed=None, start="now",
                               weight_limit=60, weight_window_s=1.0)
    sleeps = Sleeps(real=True)
    client = BinanceRestClient(BinanceMarket.SPOT, base_url=server.rest_url, sleep=sleeps,
                               settings=RestSettings(weight_window_s=1.0, weight_headroom=1.0))
    try:
        await client.exchange_info()  # weight 20; teaches the client the limit of 60
        assert client.weight.limit == 60
        for _ in range(14):
            await client.depth("BTCUSDT", 100)  # weight 5
        assert {s for _, s in server.rest_log} == {200}
        assert sleeps.calls  # it waited for a new window at least once
    finally:
        await client.aclose()


async def test_server_escalates_429_to_418_like_binance(make_replay: MakeReplay) -> None:
    server = await make_replay([SPOT_WS], seconds=10, speed=None, start="now",
                               weight_limit=10, ban_after=2, ban_s=60)
    async with httpx.AsyncClient(base_url=server.rest_url) as http:
        statuses = [(await http.get("/api/v3/depth", params={"symbol": "BTCUSDT"})).status_code
                    for _ in range(6)]
    assert statuses == [200, 200, 429, 429, 418, 418]
