"""Shared pieces of the BinanceExecution tests (no tests here): accounts, clients, waits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest

from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import ExecutionReport, OrderRequest, OrderType, TimeInForce
from argosy.venues.binance._signed import SignedSettings
from argosy.venues.binance.execution import BinanceExecution, Credentials, ExecutionSettings
from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.replay._trading import TradingSettings
from argosy.venues.replay.server import ReplayServer

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
API_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
SPOT_BTC = InstrumentId.parse("BTC-USDT.binance")
PERP_BTC = InstrumentId.parse("BTC-USDT-PERP.binance")
MakeVenue = Callable[..., Awaitable[BinanceExecution]]


class SkewedClock:
    """The host clock off by `skew_s` seconds (a badly synchronised machine)."""

    def __init__(self, skew_s: float) -> None:
        self.skew_ns = int(skew_s * 1e9)

    def now_ns(self) -> int:
        return time.time_ns() + self.skew_ns


def open_account(server: ReplayServer, settings: TradingSettings | None = None) -> None:
    server.trading.configure(settings or TradingSettings(clock="wall"))
    server.trading.add_account("alice", API_KEY, API_SECRET,
                               spot={"USDT": "10000000", "BTC": "1"}, futures={"USDT": "50000"})


@pytest.fixture
async def make_venue() -> AsyncIterator[MakeVenue]:
    venues: list[BinanceExecution] = []

    async def make(server: ReplayServer, market: BinanceMarket, *, clock: Any = None,
                   secret: str = API_SECRET, key: str = API_KEY, stream: bool = True,
                   signed: SignedSettings | None = None, spot_stream: str = "ws_api"
                   ) -> BinanceExecution:
        settings = ExecutionSettings(
            rest_url=server.rest_url, ws_url=server.ws_url(market),
            ws_api_url=f"ws://127.0.0.1:{server.port}/ws-api/v3",
            signed=signed or SignedSettings(), user_stream=stream,
            spot_stream=spot_stream)  # type: ignore[arg-type]
        venue = BinanceExecution(market, Credentials(key, secret), settings=settings,
                                 clock=clock)
        venues.append(venue)
        return await venue.start()

    yield make
    for venue in venues:
        await venue.aclose()


async def until(predicate: Callable[[], bool], within_s: float = 20.0) -> None:
    deadline = time.monotonic() + within_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def book_ready(server: ReplayServer, market: BinanceMarket) -> None:
    await until(lambda: server.trading._book(market, "BTCUSDT") is not None)


def best(server: ReplayServer, market: BinanceMarket) -> tuple[Decimal, Decimal]:
    book = server.trading._book(market, "BTCUSDT")
    assert book is not None
    bid, ask = book.best_bid(), book.best_ask()
    assert bid is not None
    assert ask is not None
    return bid[0], ask[0]


def order(cid: str, iid: InstrumentId, side: Side, kind: OrderType, qty: str,
          price: Decimal | str | None = None, **extra: Any) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid, instrument_id=iid, side=side, type=kind, quantity=Quantity(qty),
        price=Price(price) if price is not None else None,
        stop_price=Price(extra.pop("stop")) if "stop" in extra else None,
        time_in_force=extra.pop("tif", TimeInForce.GTC), **extra,
    )


async def next_report(venue: BinanceExecution, predicate: Callable[[ExecutionReport], bool],
                      within_s: float = 20.0) -> ExecutionReport:
    async def scan() -> ExecutionReport:
        async for report in venue.reports():
            if predicate(report):
                return report
        raise AssertionError("stream ended")

    return await asyncio.wait_for(scan(), within_s)
