"""Trading on any exchange ccxt supports, behind the same `ExecutionVenue` as Binance.

The trading engine's order handling, crash recovery and reconciliation are written once
against `ExecutionVenue`; this adapter lets every other exchange reuse them through ccxt's
unified API. The mappings themselves (ids, order types, statuses, fills, errors) are pure
and live in `_ccxt_orders`; this class only sequences calls.

What the adapter remembers is only a cache of what the venue already knows (client id <->
venue id, instruments it traded): after a restart, queries go by client id where the
exchange supports that, so nothing the engine relies on is lost. Reports are pushed from
ccxt.pro's `watch_orders` when the exchange instance has it, otherwise polled.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Mapping
from decimal import Decimal
from typing import Any

import ccxt  # type: ignore[import-untyped]  # ships no type information
import ccxt.async_support as ccxt_async  # type: ignore[import-untyped]
import ccxt.pro as ccxt_pro  # type: ignore[import-untyped]

from argosy.kernel.clock import Clock, LiveClock
from argosy.kernel.errors import Invalid, VenueRejected
from argosy.kernel.instruments import InstrumentId, InstrumentKind
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import TERMINAL_STATUSES, ExecutionReport, OrderRequest, VenueFill
from argosy.venues._ccxt_orders import (
    NS_PER_MS,
    create_order_args,
    fill_from_trade,
    instrument_for_symbol,
    map_error,
    report_from_order,
    symbol_for,
)
from argosy.venues.execution import VenuePosition

__all__ = ["CcxtExecution", "instrument_for_symbol", "symbol_for"]

# Exchanges whose ccxt fetch_order / cancel_order accept the client order id in params.
CLIENT_ID_LOOKUP = frozenset({"binance", "binanceusdm", "binancecoinm", "bybit", "okx",
                              "bitget", "kucoin", "gate", "mexc", "htx", "bingx"})
_SCANS = (("fetchOpenOrders", "fetch_open_orders"), ("fetchOrders", "fetch_orders"),
          ("fetchClosedOrders", "fetch_closed_orders"))


class CcxtExecution:
    """One account at one ccxt exchange. `exchange` is a ccxt.async_support (or ccxt.pro)
    instance already configured with credentials and URLs; `name` is the venue name used in
    instrument ids (defaults to the ccxt id)."""

    def __init__(self, exchange: Any, *, name: str | None = None, clock: Clock | None = None,
                 poll_interval_s: float = 1.0) -> None:
        self.exchange = exchange
        self.exchange_id: str = str(exchange.id)
        # All open orders across symbols is a legitimate (if heavier) call for the engine's
        # reconciliation; ccxt's Binance class refuses it unless told the caller knows.
        self.exchange.options["warnOnFetchOpenOrdersWithoutSymbol"] = False
        self.exchange.number = str  # the venue's digits, untouched; Decimal comes later
        self.name = name or self.exchange_id
        self.clock: Clock = clock or LiveClock()
        self.poll_interval_s = poll_interval_s
        self._venue_ids: dict[str, str] = {}  # client order id -> venue order id
        self._client_ids: dict[str, str] = {}  # venue order id -> client order id
        self._traded: set[InstrumentId] = set()

    @classmethod
    def connect(cls, exchange_id: str, *, api_key: str, secret: str,
                password: str | None = None, config: Mapping[str, Any] | None = None,
                clock: Clock | None = None) -> CcxtExecution:
        """An account at `exchange_id` with its keys: the ccxt.pro class where ccxt has one
        (pushed reports), else the plain async class (polled). `config` is passed to ccxt
        as is (URLs, options, sandbox)."""
        streaming = exchange_id in ccxt_pro.exchanges
        module = ccxt_pro if streaming else ccxt_async
        cls_ = getattr(module, exchange_id, None)
        if cls_ is None:
            raise Invalid(f"ccxt has no exchange {exchange_id!r}", field="venue")
        settings: dict[str, Any] = {"apiKey": api_key, "secret": secret,
                                    "enableRateLimit": True, **dict(config or {})}
        if password is not None:
            settings["password"] = password  # okx, kucoin, bitget passphrases
        return cls(cls_(settings), clock=clock)

    async def start(self) -> CcxtExecution:
        await self._call(self.exchange.load_markets, after_send=False)
        return self

    async def aclose(self) -> None:
        await self.exchange.close()

    # -- helpers ---------------------------------------------------------------------
    def _symbol(self, iid: InstrumentId) -> str:
        if iid.venue != self.name:
            raise VenueRejected(f"{iid} is not traded on {self.name}", venue=self.name,
                                venue_code="wrong_venue")
        symbol = symbol_for(iid)
        markets = getattr(self.exchange, "markets", None)
        if markets and symbol not in markets:
            raise VenueRejected(f"{self.name} has no market {symbol} for {iid}",
                                venue=self.name, venue_code="BadSymbol")
        return symbol

    def _retry_after(self) -> float | None:
        headers = getattr(self.exchange, "last_response_headers", None) or {}
        for key, value in headers.items():
            if str(key).lower() == "retry-after":
                try:
                    return float(value)
                except ValueError:
                    return None
        return None

    async def _call(self, method: Callable[..., Any], *args: Any, after_send: bool,
                    **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except ccxt.BaseError as error:
            raise map_error(error, self.name, after_send=after_send,
                            retry_after=self._retry_after()) from error

    def _remember(self, report: ExecutionReport) -> ExecutionReport:
        if report.venue_order_id and report.client_order_id:
            self._venue_ids[report.client_order_id] = report.venue_order_id
            self._client_ids[report.venue_order_id] = report.client_order_id
        return report

    def _report(self, raw: Mapping[str, Any], iid: InstrumentId | None = None,
                client_order_id: str | None = None) -> ExecutionReport | None:
        iid = iid or instrument_for_symbol(str(raw.get("symbol") or ""), self.name)
        if iid is None:
            return None
        if client_order_id is None and raw.get("id") is not None:
            client_order_id = self._client_ids.get(str(raw["id"]))
        return self._remember(report_from_order(raw, iid, client_order_id,
                                                self.clock.now_ns()))

    # -- ExecutionVenue --------------------------------------------------------------
    async def submit(self, order: OrderRequest) -> ExecutionReport:
        self._symbol(order.instrument_id)
        args = create_order_args(self.exchange, self.exchange_id, order)
        self._traded.add(order.instrument_id)
        raw = await self._call(self.exchange.create_order, args.symbol, args.type, args.side,
                               args.amount, args.price, args.params, after_send=True)
        report = self._report(raw, order.instrument_id, order.client_order_id)
        assert report is not None  # the instrument was given
        return report

    def _by_client_id(self, client_order_id: str) -> tuple[str, dict[str, Any]] | None:
        venue_id = self._venue_ids.get(client_order_id)
        if venue_id is not None:
            return venue_id, {}
        if self.exchange_id in CLIENT_ID_LOOKUP:
            return "", {"clientOrderId": client_order_id}
        return None

    async def cancel(self, instrument_id: InstrumentId, client_order_id: str
                     ) -> ExecutionReport:
        symbol = self._symbol(instrument_id)
        target = self._by_client_id(client_order_id)
        if target is None:
            found = await self._find(instrument_id, client_order_id)
            if found is None or found.venue_order_id is None:
                raise VenueRejected(f"order {client_order_id} not found on {self.name}",
                                    venue=self.name, venue_code="OrderNotFound")
            target = found.venue_order_id, {}
        raw = await self._call(self.exchange.cancel_order, target[0], symbol, target[1],
                               after_send=True)
        report = self._report(raw, instrument_id, client_order_id)
        assert report is not None
        return report

    async def query(self, instrument_id: InstrumentId, client_order_id: str
                    ) -> ExecutionReport | None:
        symbol = self._symbol(instrument_id)
        target = self._by_client_id(client_order_id)
        if target is None:
            return await self._find(instrument_id, client_order_id)
        try:
            raw = await self._call(self.exchange.fetch_order, target[0], symbol, target[1],
                                   after_send=False)
        except VenueRejected as error:
            if isinstance(error.__cause__, ccxt.OrderNotFound):
                return None
            raise
        return self._report(raw, instrument_id, client_order_id)

    async def _find(self, iid: InstrumentId, client_order_id: str) -> ExecutionReport | None:
        """Exchanges without a by-client-id lookup: scan open, then recent orders."""
        for has, method in _SCANS:
            if not self.exchange.has.get(has):
                continue
            call = getattr(self.exchange, method)
            for raw in await self._call(call, symbol_for(iid), after_send=False):
                if raw.get("clientOrderId") == client_order_id:
                    return self._report(raw, iid, client_order_id)
        return None

    async def open_orders(self, instrument_id: InstrumentId | None = None
                          ) -> list[ExecutionReport]:
        symbol = self._symbol(instrument_id) if instrument_id is not None else None
        raws = await self._call(self.exchange.fetch_open_orders, symbol, after_send=False)
        reports = (self._report(raw, instrument_id) for raw in raws)
        return [r for r in reports if r is not None]

    async def _client_id_of(self, venue_order_id: str, symbol: str) -> str:
        cid = self._client_ids.get(venue_order_id)
        if cid is None and self.exchange.has.get("fetchOrder"):
            raw = await self._call(self.exchange.fetch_order, venue_order_id, symbol,
                                   after_send=False)
            cid = str(raw.get("clientOrderId") or "")
            if cid:
                self._client_ids[venue_order_id] = cid
        return cid or ""

    async def fills_since(self, instrument_id: InstrumentId, since_ns: int) -> list[VenueFill]:
        symbol = self._symbol(instrument_id)
        trades = await self._call(self.exchange.fetch_my_trades, symbol,
                                  since_ns // NS_PER_MS, after_send=False)
        fills = []
        for trade in trades:
            cid = await self._client_id_of(str(trade.get("order") or ""), symbol)
            fill = fill_from_trade(trade, instrument_id, cid)
            if fill is not None and fill.ts_ns >= since_ns:
                fills.append(fill)
        return fills

    async def balances(self) -> Mapping[str, Quantity]:
        raw = await self._call(self.exchange.fetch_balance, after_send=False)
        totals = raw.get("total") or {}
        return {asset: Quantity(Decimal(str(amount))) for asset, amount in totals.items()
                if amount is not None}

    async def positions(self) -> list[VenuePosition]:
        if not self.exchange.has.get("fetchPositions"):
            return []
        raws = await self._call(self.exchange.fetch_positions, after_send=False)
        out = []
        for raw in raws:
            iid = instrument_for_symbol(str(raw.get("symbol") or ""), self.name)
            contracts = Decimal(str(raw.get("contracts") or 0))
            size = contracts * Decimal(str(raw.get("contractSize") or 1))
            if iid is None or iid.kind is not InstrumentKind.PERP or size == 0:
                continue
            entry, leverage = raw.get("entryPrice"), raw.get("leverage")
            out.append(VenuePosition(
                instrument_id=iid, side=Side.SELL if raw.get("side") == "short" else Side.BUY,
                quantity=Quantity(abs(size)),
                entry_price=Price(Decimal(str(entry))) if entry else None,
                leverage=int(Decimal(str(leverage))) if leverage else None))
        return out

    async def reports(self) -> AsyncGenerator[ExecutionReport, None]:
        """Pushed by `watch_orders` where ccxt.pro has it; else open orders are polled and
        every change (including an order leaving the open list) is reported."""
        if self.exchange.has.get("watchOrders"):
            async for report in self._watched():
                yield report
            return
        seen: dict[str, ExecutionReport] = {}
        while True:
            current = {r.client_order_id: r for r in await self.open_orders()}
            for cid, report in current.items():
                old = seen.get(cid)
                if old is None or (old.status, old.filled_quantity) != (
                        report.status, report.filled_quantity):
                    yield report
            for cid, old in seen.items():
                if cid not in current:
                    final = await self.query(old.instrument_id, cid)
                    if final is not None and final.status in TERMINAL_STATUSES:
                        yield final
            seen = current
            await asyncio.sleep(self.poll_interval_s)

    async def _watched(self) -> AsyncGenerator[ExecutionReport, None]:
        """ccxt.pro resolves a watch only for the message that arrives while it waits, so
        events of a burst (NEW then TRADE) can land in its order cache with nobody woken.
        The cache is therefore diffed after every wake-up and at least every poll interval,
        and the pending watch is kept (never cancelled) across those scans."""
        seen: dict[str, tuple[Any, ...]] = {}
        pending: asyncio.Future[Any] | None = None
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(
                        self._call(self.exchange.watch_orders, after_send=False))
                done, _ = await asyncio.wait({pending}, timeout=self.poll_interval_s)
                if pending in done:
                    task, pending = pending, None
                    task.result()  # a mapped venue error ends the stream for the caller
                cached = list(getattr(self.exchange, "orders", None) or ())
                for raw in cached:
                    state = (raw.get("status"), raw.get("filled"), len(raw.get("trades") or ()))
                    if seen.get(str(raw.get("id"))) != state:
                        seen[str(raw.get("id"))] = state
                        report = self._report(raw)
                        if report is not None:
                            yield report
                live = {str(raw.get("id")) for raw in cached}
                seen = {key: value for key, value in seen.items() if key in live}
        finally:
            if pending is not None:
                pending.cancel()
