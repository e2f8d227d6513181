"""CcxtExecution's own decisions, on an in-memory exchange shaped like ccxt's answers.

The Binance round trips run against the replay server (integration); what is checked here
is what that exchange cannot show: exchanges without a by-client-id lookup, derivatives
positions, instruments refused before any call, and the choice of ccxt class per exchange.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt.pro as ccxt_pro  # type: ignore[import-untyped]  # untyped
import pytest

from argosy.kernel.errors import Invalid, VenueRejected
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Side
from argosy.kernel.orders import OrderStatus
from argosy.venues.ccxt_execution import CcxtExecution

KRAKEN_BTC = InstrumentId.parse("BTC-USD.kraken")
BYBIT_PERP = InstrumentId.parse("BTC-USDT-PERP.bybit")


class MemoryExchange:
    """Only the ccxt surface CcxtExecution touches, answering recorded-shape dicts."""

    def __init__(self, exchange_id: str, has: dict[str, Any], **answers: Any) -> None:
        self.id = exchange_id
        self.has = has
        self.options: dict[str, Any] = {}
        self.markets: dict[str, Any] = {"BTC/USD": {}, "BTC/USDT:USDT": {}}
        self.answers = answers
        self.calls: list[str] = []

    async def _answer(self, name: str) -> Any:
        self.calls.append(name)
        return self.answers.get(name, [])

    async def fetch_open_orders(self, *_: Any) -> Any:
        return await self._answer("fetch_open_orders")

    async def fetch_closed_orders(self, *_: Any) -> Any:
        return await self._answer("fetch_closed_orders")

    async def fetch_positions(self, *_: Any) -> Any:
        return await self._answer("fetch_positions")

    async def create_order(self, *_: Any) -> Any:
        return await self._answer("create_order")


def _order(cid: str, oid: str, status: str) -> dict[str, Any]:
    return {"id": oid, "clientOrderId": cid, "symbol": "BTC/USD", "status": status,
            "filled": "0", "timestamp": 1}


async def test_without_client_id_lookup_query_scans_open_then_closed_orders() -> None:
    exchange = MemoryExchange(
        "kraken", {"fetchOpenOrders": True, "fetchClosedOrders": True},
        fetch_open_orders=[_order("other", "1", "open")],
        fetch_closed_orders=[_order("mine", "2", "canceled")])
    venue = CcxtExecution(exchange)
    found = await venue.query(KRAKEN_BTC, "mine")
    assert found is not None
    assert (found.venue_order_id, found.status) == ("2", OrderStatus.CANCELLED)
    assert exchange.calls == ["fetch_open_orders", "fetch_closed_orders"]
    assert await venue.query(KRAKEN_BTC, "absent") is None


async def test_positions_keep_linear_perps_with_size_and_side() -> None:
    rows = [
        {"symbol": "BTC/USDT:USDT", "contracts": "3", "contractSize": "0.001",
         "side": "short", "entryPrice": "60000.5", "leverage": "5"},
        {"symbol": "ETH/USDT:USDT", "contracts": "0", "side": "long"},  # flat
        {"symbol": "BTC/USD:BTC", "contracts": "10", "side": "long"},  # inverse
    ]
    venue = CcxtExecution(MemoryExchange("bybit", {"fetchPositions": True},
                                         fetch_positions=rows))
    [position] = await venue.positions()
    assert position.instrument_id == BYBIT_PERP
    assert (position.side, position.quantity.value, position.leverage) == (
        Side.SELL, Decimal("0.003"), 5)
    assert position.entry_price is not None
    assert position.entry_price.value == Decimal("60000.5")
    spot_only = CcxtExecution(MemoryExchange("kraken", {"fetchPositions": False}))
    assert await spot_only.positions() == []


async def test_instruments_of_another_venue_or_unlisted_are_refused_before_any_call() -> None:
    exchange = MemoryExchange("kraken", {})
    venue = CcxtExecution(exchange)
    with pytest.raises(VenueRejected, match="not traded on kraken"):
        await venue.open_orders(BYBIT_PERP)
    with pytest.raises(VenueRejected) as caught:
        await venue.open_orders(InstrumentId.parse("ETH-USD.kraken"))
    assert caught.value.venue_code == "BadSymbol"
    assert exchange.calls == []


def test_connect_picks_the_streaming_class_and_refuses_unknown_exchanges() -> None:
    venue = CcxtExecution.connect("okx", api_key="k", secret="s", password="p")
    assert isinstance(venue.exchange, ccxt_pro.okx)
    assert venue.exchange.password == "p"
    assert venue.exchange.has["watchOrders"]
    assert venue.name == "okx"
    with pytest.raises(Invalid):
        CcxtExecution.connect("no-such-exchange", api_key="k", secret="s")
