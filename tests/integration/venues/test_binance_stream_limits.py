"""Binance's per-connection limits are respected: streams split, control frames paced."""

from __future__ import annotations

import time

import pytest

from argosy.kernel.errors import Invalid
from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.binance.ws import BinanceStreamClient, StreamSettings
from argosy.venues.replay.server import ReplayServer
from tests.integration.venues.conftest import SPOT_WS, USDM_WS, MakeReplay

pytestmark = pytest.mark.integration


def max_per_second(times: list[float]) -> int:
    return max((sum(1 for t in times if s <= t < s + 1.0) for s in times), default=0)


def names(count: int) -> list[str]:
    return [f"s{i:04d}usdt@trade" for i in range(count)]


def client(server: ReplayServer, market: BinanceMarket, **settings: object
           ) -> BinanceStreamClient:
    return BinanceStreamClient(market, lambda *_: None, base_url=server.ws_url(market),
                               settings=StreamSettings(**settings))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("market", "ws", "count", "split"),
    [(BinanceMarket.SPOT, SPOT_WS, 1100, [1024, 76]),
     (BinanceMarket.USDM, USDM_WS, 250, [200, 50])],
)
async def test_streams_beyond_the_cap_open_another_connection(
    make_replay: MakeReplay, market: BinanceMarket, ws: str, count: int, split: list[int]
) -> None:
    server = await make_replay([ws], seconds=5, speed=1.0)
    streams = client(server, market)
    try:
        await streams.subscribe(names(count))
        assert sorted(len(c.desired) for c in streams.connections) == sorted(split)
        assert sorted(len(c.routes) for c in server.connections) == sorted(split)
        assert await streams.list_subscriptions() == sorted(names(count))
        assert server.stats["rate_limit_disconnects"] == 0
        limit = server.incoming_limit(market)
        for conn in server.connections:
            assert max_per_second(conn.control_times) <= limit
    finally:
        await streams.close()


async def test_control_messages_stay_under_five_per_second(make_replay: MakeReplay) -> None:
    server = await make_replay([SPOT_WS], seconds=5, speed=1.0)
    streams = client(server, BinanceMarket.SPOT)
    try:
        await streams.subscribe(["btcusdt@trade"])
        started = time.monotonic()
        # Twelve calls one after the other: twelve SUBSCRIBE frames on one connection.
        # (Concurrent calls are coalesced into fewer frames.)
        for name in names(12):
            await streams.subscribe([name])
        elapsed = time.monotonic() - started
        (conn,) = server.connections
        assert len(conn.control_times) == 12
        assert max_per_second(conn.control_times) <= 4  # 5 allowed, one kept for pongs
        assert elapsed >= 2.0
        assert server.stats["rate_limit_disconnects"] == 0
        assert len(conn.routes) == 13
    finally:
        await streams.close()


async def test_more_streams_than_connections_allow_is_a_clear_error(
    make_replay: MakeReplay,
) -> None:
    server = await make_replay([USDM_WS], seconds=5, speed=1.0)
    streams = client(server, BinanceMarket.USDM, max_connections=2)
    try:
        with pytest.raises(Invalid, match="exceed 400"):
            await streams.subscribe(names(401))
        assert streams.connections == []
    finally:
        await streams.close()
