"""Binance live execution (spot or USD-M perpetuals) behind the `ExecutionVenue` protocol.

One instance is one API key on one market: the two markets have separate wallets, order
books, limits and user streams, so `balances()` means one wallet. The instruments say
which market they belong to (`BTC-USDT.binance` spot, `BTC-USDT-PERP.binance` USD-M); an
order for the other market is refused before it is sent.

Everything that can go wrong has a group (see `_signed`): the trading engine retries
`VenueRetry`, marks the order `submitted_unknown` on `VenueReconcile` and resolves it with
`query` (which answers None only when Binance says -2013 "Order does not exist"), and
treats `VenueRejected` as final. `newClientOrderId` is always our `client_order_id`, so a
query by it finds the order whatever happened to the answer of the send.

`settings.testnet` points at Binance's test networks; `rest_url` / `ws_url` / `ws_api_url`
override them (the replay server in tests). Spot's user data stream is the WebSocket API
subscription by default (Binance ended spot listenKeys on 2026-02-20); USD-M's is the
listenKey stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Literal

import httpx

from argosy.kernel.clock import NS_PER_MS, Clock, LiveClock
from argosy.kernel.errors import VenueError, VenueRejected
from argosy.kernel.instruments import InstrumentId, InstrumentKind
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import ExecutionReport, OrderRequest, VenueFill
from argosy.venues.binance._orders import (
    fill_from_trade,
    market_of,
    order_params,
    report_from_order,
    symbol_of,
)
from argosy.venues.binance._signed import SignedClient, SignedSettings
from argosy.venues.binance._signing import Credentials, ServerClock
from argosy.venues.binance.markets import BinanceMarket, spec
from argosy.venues.binance.user_stream import UserStream
from argosy.venues.execution import VenuePosition

__all__ = ["TESTNET_URLS", "BinanceExecution", "Credentials", "ExecutionSettings"]

# Binance's test networks (docs 2026-11): REST base and WebSocket base per market.
TESTNET_URLS: Final[dict[BinanceMarket, tuple[str, str]]] = {
    BinanceMarket.SPOT: ("https://testnet.binance.vision", "wss://stream.testnet.binance.vision"),
    BinanceMarket.USDM: ("https://testnet.binancefuture.com", "wss://fstream.binancefuture.com"),
}
# Spot's user data stream lives on the WebSocket API since listenKeys ended (2026-02-20).
SPOT_WS_API = "wss://ws-api.binance.com:443/ws-api/v3"
SPOT_WS_API_TESTNET = "wss://ws-api.testnet.binance.vision/ws-api/v3"
_QUOTES = ("USDT", "USDC", "FDUSD", "TUSD", "BUSD", "BTC", "ETH", "BNB", "EUR", "TRY", "BRL")
_PAGE = 1000
_DAY_MS = 86_400_000
_MAX_WINDOWS = 14  # beyond this many time windows, trade-id paging is fewer calls


@dataclass(frozen=True, slots=True)
class ExecutionSettings:
    testnet: bool = False
    rest_url: str | None = None  # overrides the market's (or testnet's) REST base
    ws_url: str | None = None  # overrides the WebSocket base (`<ws_url>/ws/<listenKey>`)
    signed: SignedSettings = field(default_factory=SignedSettings)
    user_stream: bool = True
    keepalive_s: float = 30 * 60.0  # a listenKey lives 60 minutes without a keepalive
    spot_stream: Literal["ws_api", "listen_key"] = "ws_api"  # listen_key: Binance before 2026-02
    ws_api_url: str | None = None  # overrides the spot WebSocket API URL


class BinanceExecution:
    """An account on one Binance market; see the module docstring."""

    name = "binance"

    def __init__(
        self,
        market: BinanceMarket,
        credentials: Credentials,
        *,
        settings: ExecutionSettings | None = None,
        instruments: Iterable[InstrumentId] = (),
        clock: Clock | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.market = BinanceMarket(market)
        self.settings = s = settings or ExecutionSettings()
        rest, ws = TESTNET_URLS[self.market] if s.testnet else (
            spec(self.market).rest_url, spec(self.market).ws_url)
        self.rest_url, self.ws_url = s.rest_url or rest, s.ws_url or ws
        self.clock = ServerClock(clock or LiveClock(), s.signed.time_sync_interval_s)
        self.client = SignedClient(self.market, credentials, self.rest_url, self.clock,
                                   settings=s.signed, http=http)
        self._symbols: dict[str, InstrumentId] = {}
        for iid in instruments:
            self._remember(iid)
        self._client_ids: dict[str, str] = {}  # venue order id -> our client order id
        self.account_updates: list[Mapping[str, Any]] = []
        ws_api: str | None = None
        if self.market is BinanceMarket.SPOT and s.spot_stream == "ws_api":
            ws_api = s.ws_api_url or (SPOT_WS_API_TESTNET if s.testnet else SPOT_WS_API)
        self.stream = UserStream(self.client, self.ws_url, self._resolve,
                                 keepalive_s=s.keepalive_s, on_account=self._account_update,
                                 on_reconnect=self._after_reconnect, ws_api_url=ws_api)

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> BinanceExecution:
        """Measure the clock offset and open the user stream."""
        await self.client.sync_time()
        if self.settings.user_stream:
            await self.stream.start()
        return self

    async def aclose(self) -> None:
        await self.stream.close()
        await self.client.aclose()

    async def __aenter__(self) -> BinanceExecution:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    # --- symbols ------------------------------------------------------------------------

    def _remember(self, iid: InstrumentId) -> None:
        if market_of(iid) is not self.market:
            raise VenueRejected(f"{iid} is not on binance {self.market.value}",
                                venue="binance", venue_code="market", field="instrument_id")
        self._symbols[symbol_of(iid)] = iid

    def _resolve(self, symbol: str) -> InstrumentId | None:
        known = self._symbols.get(symbol)
        if known is not None:
            return known
        kind = InstrumentKind.SPOT if self.market is BinanceMarket.SPOT else InstrumentKind.PERP
        for quote in _QUOTES:
            if symbol.endswith(quote) and len(symbol) > len(quote):
                iid = InstrumentId(symbol[: -len(quote)], quote, kind, "binance")
                self._symbols[symbol] = iid
                return iid
        return None

    def _path(self, endpoint: str, version: int = 1) -> str:
        if self.market is BinanceMarket.SPOT:
            return f"/api/v3/{endpoint}"
        return f"/fapi/v{version}/{endpoint}"

    # --- orders -------------------------------------------------------------------------

    async def submit(self, order: OrderRequest) -> ExecutionReport:
        self._remember(order.instrument_id)
        params = order_params(order)
        body = await self.client.call("POST", self._path("order"), params, order=True,
                                      mutating=True)
        return self._report(body, order.instrument_id)

    async def cancel(self, instrument_id: InstrumentId, client_order_id: str
                     ) -> ExecutionReport:
        self._remember(instrument_id)
        params = [("symbol", symbol_of(instrument_id)), ("origClientOrderId", client_order_id)]
        body = await self.client.call("DELETE", self._path("order"), params, mutating=True)
        return self._report(body, instrument_id)

    async def query(self, instrument_id: InstrumentId, client_order_id: str
                    ) -> ExecutionReport | None:
        self._remember(instrument_id)
        params = [("symbol", symbol_of(instrument_id)), ("origClientOrderId", client_order_id)]
        try:
            body = await self.client.call("GET", self._path("order"), params)
        except VenueRejected as error:
            if error.venue_code == "-2013":  # "Order does not exist."
                return None
            raise
        return self._report(body, instrument_id)

    async def open_orders(self, instrument_id: InstrumentId | None = None
                          ) -> list[ExecutionReport]:
        params: list[tuple[str, str]] = []
        if instrument_id is not None:
            self._remember(instrument_id)
            params.append(("symbol", symbol_of(instrument_id)))
        rows = await self.client.call("GET", self._path("openOrders"), params)
        out = []
        for row in rows:
            iid = instrument_id or self._resolve(str(row["symbol"]))
            if iid is not None:
                out.append(self._report(row, iid))
        return out

    def _report(self, body: Mapping[str, Any], iid: InstrumentId) -> ExecutionReport:
        report = report_from_order(body, iid)
        if report.venue_order_id is not None and report.client_order_id:
            self._client_ids[report.venue_order_id] = report.client_order_id
        return report

    # --- fills, balances, positions -----------------------------------------------------

    async def fills_since(self, instrument_id: InstrumentId, since_ns: int) -> list[VenueFill]:
        """Every fill of the instrument at or after `since_ns`, oldest first.

        Binance answers at most 1000 rows and spans at most 24 h (spot myTrades) or 7 days
        (USD-M userTrades) per call, so the range is walked window by window, and a full
        page continues from its last row's time (rows already seen are skipped by id).
        """
        self._remember(instrument_id)
        symbol = symbol_of(instrument_id)
        spot = self.market is BinanceMarket.SPOT
        endpoint, span_ms = ("myTrades", _DAY_MS) if spot else ("userTrades", 7 * _DAY_MS)
        cursor, now_ms = since_ns // NS_PER_MS, self.clock.now_ms()
        rows: dict[int, dict[str, Any]] = {}
        if now_ms - cursor > _MAX_WINDOWS * span_ms:  # a long way back: walk by trade id
            await self._walk_ids(endpoint, symbol, cursor, rows)
            cursor = now_ms + 1
        while cursor <= now_ms:
            end = min(cursor + span_ms - 1, now_ms)
            page = await self.client.call("GET", self._path(endpoint), [
                ("symbol", symbol), ("startTime", str(cursor)), ("endTime", str(end)),
                ("limit", str(_PAGE))])
            fresh = [r for r in page if int(r["id"]) not in rows]
            rows.update((int(r["id"]), r) for r in page)
            full = len(page) >= _PAGE and fresh  # same-ms rows are told apart by id
            cursor = max(int(r["time"]) for r in page) if full else end + 1
        fills = []
        for row in sorted(rows.values(), key=lambda r: (int(r["time"]), int(r["id"]))):
            client_id = await self._client_id(instrument_id, str(row["orderId"]))
            fills.append(fill_from_trade(row, instrument_id, client_id))
        return fills

    async def _walk_ids(self, endpoint: str, symbol: str, since_ms: int,
                        rows: dict[int, dict[str, Any]]) -> None:
        from_id = 0
        while True:
            page = await self.client.call("GET", self._path(endpoint), [
                ("symbol", symbol), ("fromId", str(from_id)), ("limit", str(_PAGE))])
            rows.update((int(r["id"]), r) for r in page if int(r["time"]) >= since_ms)
            if len(page) < _PAGE:
                return
            from_id = int(page[-1]["id"]) + 1

    async def _client_id(self, iid: InstrumentId, order_id: str) -> str:
        known = self._client_ids.get(order_id)
        if known is None:  # trade rows name the venue's order id only
            body = await self.client.call(
                "GET", self._path("order"), [("symbol", symbol_of(iid)), ("orderId", order_id)])
            known = self._client_ids[order_id] = str(body["clientOrderId"])
        return known

    async def balances(self) -> Mapping[str, Quantity]:
        """Total (free + locked, or wallet balance on USD-M) per asset; zeros left out."""
        out: dict[str, Quantity] = {}
        if self.market is BinanceMarket.SPOT:
            body = await self.client.call("GET", self._path("account"),
                                          [("omitZeroBalances", "true")])
            for row in body.get("balances", []):
                total = Decimal(row["free"]) + Decimal(row["locked"])
                if total > 0:
                    out[str(row["asset"])] = Quantity(total)
            return out
        for row in await self.client.call("GET", self._path("balance", 2)):
            amount = Decimal(row["balance"])
            if amount > 0:
                out[str(row["asset"])] = Quantity(amount)
        return out

    async def positions(self) -> list[VenuePosition]:
        if self.market is BinanceMarket.SPOT:
            return []
        out = []
        for row in await self.client.call("GET", self._path("positionRisk", 2)):
            amount = Decimal(row["positionAmt"])
            iid = self._resolve(str(row["symbol"]))
            if amount == 0 or iid is None:
                continue
            entry = Decimal(row.get("entryPrice") or 0)
            out.append(VenuePosition(
                instrument_id=iid, side=Side.BUY if amount > 0 else Side.SELL,
                quantity=Quantity(abs(amount)), entry_price=Price(entry) if entry else None,
                leverage=int(row["leverage"]) if row.get("leverage") else None,
            ))
        return out

    # --- stream -------------------------------------------------------------------------

    async def reports(self) -> AsyncIterator[ExecutionReport]:
        while True:
            yield await self.stream.queue.get()

    def _account_update(self, data: Mapping[str, Any]) -> None:
        self.account_updates.append(data)
        del self.account_updates[:-100]

    async def _after_reconnect(self) -> None:
        """Events sent while the socket was down are lost: report the live orders now."""
        with contextlib.suppress(VenueError, TimeoutError):
            for report in await asyncio.wait_for(self.open_orders(), 10.0):
                self.stream.queue.put_nowait(report)
