"""Native Binance market data: spot and USD-M futures.

`BinanceMarketFeed` is the entry point services use; the pieces it is built from are
public for the services and tests that need one of them alone.
"""

from argosy.venues.binance.book_sync import BookSync, SyncOutcome, SyncState
from argosy.venues.binance.feed import BinanceMarketFeed, FeedSettings, FeedStats
from argosy.venues.binance.instruments import ExchangeInfo, VenueInstrument, parse_exchange_info
from argosy.venues.binance.markets import BinanceMarket, MarketSpec, spec
from argosy.venues.binance.rest import BinanceRestClient, RestSettings
from argosy.venues.binance.ws import BinanceStreamClient, StreamSettings, StreamStats

__all__ = [
    "BinanceMarket",
    "BinanceMarketFeed",
    "BinanceRestClient",
    "BinanceStreamClient",
    "BookSync",
    "ExchangeInfo",
    "FeedSettings",
    "FeedStats",
    "MarketSpec",
    "RestSettings",
    "StreamSettings",
    "StreamStats",
    "SyncOutcome",
    "SyncState",
    "VenueInstrument",
    "parse_exchange_info",
    "spec",
]
