"""What differs between Binance spot and USD-M futures, in one table.

The two markets speak the same protocol with different numbers: hosts, REST prefix, how many
streams one socket may carry, how many frames a client may send per second, and which
order book sync rule applies. Everything else in `venues.binance` takes a `BinanceMarket`
and reads its `MarketSpec`, so no module repeats an `if spot:` branch.

Sources (Binance developer docs, checked 2026-11):
- spot "WebSocket Streams": 1024 streams per connection; 5 incoming messages per second,
  where a message is a PING frame, a PONG frame or a JSON control message; the server pings
  every 20 s and drops a client that has not answered within a minute; 24 h lifetime.
- USD-M "Websocket Market Streams": 10 incoming messages per second; ping every 3 minutes,
  pong within 10 minutes; 24 h lifetime. The stream cap was 200 per connection for years
  (nautilus_trader still uses 200); the current page says 1024. We keep 200: splitting
  earlier costs one more socket, exceeding the real cap costs a disconnect.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from argosy.kernel.instruments import InstrumentKind

__all__ = ["SPECS", "BinanceMarket", "DepthRule", "MarketSpec", "spec"]


class BinanceMarket(StrEnum):
    SPOT = "spot"
    USDM = "usdm"


class DepthRule(StrEnum):
    """Which "How to manage a local order book correctly" procedure applies."""

    SPOT = "spot"  # continuity by U == previous u + 1
    FUTURES = "futures"  # continuity by pu == previous u


@dataclass(frozen=True, slots=True)
class MarketSpec:
    market: BinanceMarket
    rest_url: str
    ws_url: str
    rest_prefix: str  # "/api/v3" or "/fapi/v1"
    max_streams_per_connection: int
    max_incoming_per_second: int
    server_ping_interval_s: float
    pong_timeout_s: float
    connection_lifetime_s: float
    instrument_kind: InstrumentKind
    depth_rule: DepthRule
    depth_stream_suffix: str  # what "diff depth, fastest documented speed" is called
    weight_limit_per_minute: int  # REQUEST_WEIGHT default, until exchangeInfo says otherwise


SPECS: Final[dict[BinanceMarket, MarketSpec]] = {
    BinanceMarket.SPOT: MarketSpec(
        market=BinanceMarket.SPOT,
        rest_url="https://api.binance.com",
        ws_url="wss://stream.binance.com:9443",
        rest_prefix="/api/v3",
        max_streams_per_connection=1024,
        max_incoming_per_second=5,
        server_ping_interval_s=20.0,
        pong_timeout_s=60.0,
        connection_lifetime_s=24 * 3600.0,
        instrument_kind=InstrumentKind.SPOT,
        depth_rule=DepthRule.SPOT,
        depth_stream_suffix="depth@100ms",
        weight_limit_per_minute=6000,
    ),
    BinanceMarket.USDM: MarketSpec(
        market=BinanceMarket.USDM,
        rest_url="https://fapi.binance.com",
        ws_url="wss://fstream.binance.com",
        rest_prefix="/fapi/v1",
        max_streams_per_connection=200,
        max_incoming_per_second=10,
        server_ping_interval_s=180.0,
        pong_timeout_s=600.0,
        connection_lifetime_s=24 * 3600.0,
        instrument_kind=InstrumentKind.PERP,
        depth_rule=DepthRule.FUTURES,
        depth_stream_suffix="depth@100ms",
        weight_limit_per_minute=2400,
    ),
}


def spec(market: BinanceMarket | str) -> MarketSpec:
    return SPECS[BinanceMarket(market)]
