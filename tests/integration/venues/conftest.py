"""A replay server over real recordings, and a Binance feed pointed at it."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from argosy.kernel.messages import BookDelta, Message, QuoteTick, TradeTick
from argosy.venues.alarms import FeedAlarm
from argosy.venues.binance.feed import BinanceMarketFeed, FeedSettings
from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.binance.rest import BinanceRestClient, RestSettings
from argosy.venues.binance.ws import StreamSettings
from argosy.venues.replay.recordings import Recording, load_recording
from argosy.venues.replay.server import ReplayServer, ReplaySettings
from tests.support.servers import SHARED_DATA

SPOT_WS = "ws/binance_spot_BTCUSDT_20240808.jsonl.gz"
SPOT_TRADES = "trades/binance_spot_BTCUSDT_trades.csv"
USDM_WS = "ws/binance_usdm_BTCUSDT_20240808.jsonl.gz"
USDM_TRADES = "trades/binance_usdm_BTCUSDT_trades.csv"

MakeReplay = Callable[..., Awaitable[ReplayServer]]


@functools.cache
def _load(files: tuple[str, ...]) -> Recording:
    """Parsed once per test session; servers never modify a recording."""
    return load_recording([SHARED_DATA / f for f in files])


@pytest.fixture
async def make_replay(shared_data: Any) -> AsyncIterator[MakeReplay]:
    servers: list[ReplayServer] = []

    async def make(files: list[str], seconds: float | None = None, **settings: Any
                   ) -> ReplayServer:
        recording = _load(tuple(files))
        if seconds is not None:
            recording = recording.truncated(seconds)
        server = await ReplayServer(recording, ReplaySettings(**settings)).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.close()


@dataclass
class Collected:
    messages: list[Message] = field(default_factory=list)
    alarms: list[FeedAlarm] = field(default_factory=list)

    def trades(self) -> list[TradeTick]:
        return [m for m in self.messages if isinstance(m, TradeTick)]

    def quotes(self) -> list[QuoteTick]:
        return [m for m in self.messages if isinstance(m, QuoteTick)]

    def deltas(self) -> list[BookDelta]:
        return [m for m in self.messages if isinstance(m, BookDelta)]

    def alarm_kinds(self) -> list[str]:
        return [a.kind for a in self.alarms]


MakeFeed = Callable[..., tuple[BinanceMarketFeed, Collected]]


@pytest.fixture
async def make_feed() -> AsyncIterator[MakeFeed]:
    feeds: list[BinanceMarketFeed] = []

    def make(server: ReplayServer, market: BinanceMarket, *, stream: StreamSettings | None = None,
             feed: FeedSettings | None = None, rest: RestSettings | None = None
             ) -> tuple[BinanceMarketFeed, Collected]:
        out = Collected()
        client = BinanceRestClient(market, base_url=server.rest_url, settings=rest)
        instance = BinanceMarketFeed(
            market, out.messages.append, on_alarm=out.alarms.append, rest=client,
            ws_url=server.ws_url(market), settings=feed,
            stream_settings=stream or StreamSettings(backoff_initial_s=0.05,
                                                     backoff_max_s=0.5),
        )
        feeds.append(instance)
        return instance, out

    yield make
    for feed in feeds:
        await feed.close()
        await feed.rest.aclose()
