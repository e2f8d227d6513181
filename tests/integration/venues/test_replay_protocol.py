"""The replay server speaks Binance: checked with a bare websockets and httpx client."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from argosy.venues.binance.markets import BinanceMarket
from tests.integration.venues.conftest import SPOT_TRADES, SPOT_WS, USDM_WS, MakeReplay

pytestmark = pytest.mark.integration


async def test_combined_stream_url_and_live_subscription(make_replay: MakeReplay) -> None:
    server = await make_replay([SPOT_WS], seconds=20, speed=None)
    url = f"{server.ws_url(BinanceMarket.SPOT)}/stream?streams=btcusdt@trade"
    async with connect(url, ping_interval=None, close_timeout=0.5) as ws:
        frame = json.loads(await ws.recv())
        assert frame["stream"] == "btcusdt@trade"
        assert frame["data"]["e"] == "trade"
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker"],
                                  "id": 7}))
        await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 8}))
        answers = {}
        while len(answers) < 2:
            message = json.loads(await ws.recv())
            if "id" in message:
                answers[message["id"]] = message
        assert answers[7] == {"result": None, "id": 7}
        assert answers[8]["result"] == ["btcusdt@bookTicker", "btcusdt@trade"]
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@nonsense"],
                                  "id": 9}))
        await ws.send(json.dumps({"method": "FOO", "id": 10}))
        errors = {}
        while len(errors) < 2:
            message = json.loads(await ws.recv())
            if message.get("id") in (9, 10):
                errors[message["id"]] = message
        assert errors[9]["code"] == 2
        assert errors[10]["code"] == 2


async def test_raw_stream_and_depth_alias(make_replay: MakeReplay) -> None:
    server = await make_replay([USDM_WS], seconds=10, speed=None)
    url = f"{server.ws_url(BinanceMarket.USDM)}/ws/btcusdt@depth@100ms"
    async with connect(url, ping_interval=None, close_timeout=0.5) as ws:
        data = json.loads(await ws.recv())
        assert data["e"] == "depthUpdate"
        assert "pu" in data


async def _drain(ws: ClientConnection) -> None:
    while True:
        await ws.recv()


async def test_incoming_frame_limit_disconnects(make_replay: MakeReplay) -> None:
    server = await make_replay([SPOT_WS], seconds=5, speed=1.0)
    url = f"{server.ws_url(BinanceMarket.SPOT)}/stream?streams=btcusdt@trade"
    async with connect(url, ping_interval=None, close_timeout=0.5) as ws:
        for i in range(8):  # Binance spot allows 5 per second
            await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(_drain(ws), 5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1008
    assert server.stats["rate_limit_disconnects"] == 1


async def test_too_many_streams_are_refused(make_replay: MakeReplay) -> None:
    server = await make_replay([USDM_WS], seconds=5, speed=1.0, stream_limit=3)
    names = "/".join(f"sym{i}usdt@trade" for i in range(4))
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{server.rest_url}/fstream/stream?streams={names}")
    assert response.status_code == 400


async def test_server_pings_and_drops_a_silent_client(make_replay: MakeReplay) -> None:
    server = await make_replay([SPOT_WS], seconds=5, speed=1.0, ping_interval_s=0.1,
                               pong_timeout_s=0.35)
    url = f"{server.ws_url(BinanceMarket.SPOT)}/stream?streams=btcusdt@trade"
    # websockets answers the server's pings by itself
    async with connect(url, ping_interval=None, close_timeout=0.5) as ws:
        await asyncio.sleep(0.8)
        assert not server.closed_connections
        await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 1}))
    # The raw transport below never answers pings: the server must give up on it.
    _, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        b"GET /stream?streams=btcusdt@trade HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    await writer.drain()
    await asyncio.sleep(0.8)
    assert any(c.closed_reason == "pong timeout" for c in server.closed_connections)
    writer.close()


async def test_rest_endpoints_and_errors(make_replay: MakeReplay) -> None:
    server = await make_replay(
        [SPOT_WS, SPOT_TRADES, "trades/binance_spot_XRPETH_aggtrades.csv",
         "ohlcv/binance_spot_XRPETH_1m.csv", "ohlcv/binance_usdm_XRPUSDT_1h.csv"],
        seconds=30, speed=None, start="now",
    )
    await asyncio.wait_for(server.wait_finished(), 30)
    async with httpx.AsyncClient(base_url=server.rest_url) as http:
        assert (await http.get("/api/v3/ping")).json() == {}
        assert (await http.get("/fapi/v1/ping")).json() == {}
        time_ms = (await http.get("/api/v3/time")).json()["serverTime"]
        assert abs(time_ms * 1_000_000 - server.player.now_ns) < 10**6
        info = (await http.get("/api/v3/exchangeInfo")).json()
        assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT"]  # XRPETH: no source
        depth = await http.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 5})
        assert depth.headers["X-MBX-USED-WEIGHT-1M"] == str(
            20 + 2 + 5)  # exchangeInfo + 2 pings + depth(5)
        book = depth.json()
        assert len(book["bids"]) == 5
        assert float(book["bids"][0][0]) < float(book["asks"][0][0])
        klines = (await http.get("/api/v3/klines", params={
            "symbol": "XRPETH", "interval": "1m", "limit": 3})).json()
        assert len(klines) == 3
        assert len(klines[0]) == 12
        assert klines[0][6] == klines[0][0] + 59_999
        agg = (await http.get("/api/v3/aggTrades", params={
            "symbol": "XRPETH", "fromId": 13519807, "limit": 2})).json()
        assert [a["a"] for a in agg] == [13519807, 13519808]
        trades = (await http.get("/api/v3/historicalTrades", params={
            "symbol": "BTCUSDT", "fromId": 3735683259, "limit": 3})).json()
        assert [t["id"] for t in trades] == [3735683259, 3735683260, 3735683261]
        futures = (await http.get("/fapi/v1/klines", params={
            "symbol": "XRPUSDT", "interval": "1h", "limit": 2,
            "startTime": 1637110800000})).json()
        assert futures[0][:2] == [1637110800000, "1.0801"]  # the recorded string
        bad = await http.get("/api/v3/depth", params={"symbol": "NOPE"})
        assert bad.status_code == 400
        assert bad.json()["code"] == -1121
        bad = await http.get("/api/v3/klines", params={"symbol": "XRPETH", "interval": "7m"})
        assert bad.json()["code"] == -1120


async def test_kline_extras_match_recorded_volume(make_replay: MakeReplay) -> None:
    """Quote volume and trade counts come from recorded aggTrades; volume still matches."""
    server = await make_replay(["trades/binance_spot_XRPETH_aggtrades.csv",
                                "ohlcv/binance_spot_XRPETH_1m.csv"])
    async with httpx.AsyncClient(base_url=server.rest_url) as http:
        rows = (await http.get("/api/v3/klines", params={
            "symbol": "XRPETH", "interval": "1m", "limit": 1000,
            "startTime": 1570752000000})).json()
    from decimal import Decimal

    agg = server.recording.data[BinanceMarket.SPOT].agg_trades["XRPETH"]
    for row in rows[:200]:
        volume = sum((Decimal(a["q"]) for a in agg if row[0] <= a["T"] <= row[6]), Decimal(0))
        assert Decimal(row[5]) == volume
        assert row[8] == sum(a["l"] - a["f"] + 1 for a in agg if row[0] <= a["T"] <= row[6])
