"""Binance user-data stream: a listenKey kept alive, its WebSocket read into reports.

Two ways in. USD-M (and spot before 2026-02-20, when Binance ended spot listenKeys):
`/fapi/v1/listenKey` (spot `/api/v3/userDataStream`): POST creates the key (the same key
comes back while it is valid), PUT extends it by 60 minutes and is sent every
`keepalive_s`, DELETE closes it; the socket is `<ws>/ws/<listenKey>`. Spot now: a socket on
the WebSocket API (`ws_api_url`) subscribed with `userDataStream.subscribe.signature`
(signed apiKey + timestamp; events arrive wrapped as `{"subscriptionId", "event"}`). They
carry
- spot `executionReport` (one per order change; `x` = TRADE carries one fill),
- USD-M `ORDER_TRADE_UPDATE` (the same, inside `"o"`) and `ACCOUNT_UPDATE` (balances and
  positions after every change), and `listenKeyExpired`.
Each order event becomes a kernel `ExecutionReport` (with its fill, if any) on `reports`.
After a disconnect or an expired key the stream reconnects with backoff, creating a new key
when the old one is gone (-1125); events sent while it was away are not replayed by
Binance, which is why `on_reconnect` is called: the venue adapter then reports the live
orders' current state, so a consumer misses states but never an outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any

import orjson
import structlog
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from argosy.kernel.clock import NS_PER_MS
from argosy.kernel.errors import VenueError, VenueRejected
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import ExecutionReport, Liquidity, OrderStatus, VenueFill
from argosy.venues.binance._orders import STATUS
from argosy.venues.binance._signed import SignedClient
from argosy.venues.binance.markets import BinanceMarket

__all__ = ["UserStream", "report_from_event"]

log = structlog.get_logger("argosy.venues.binance.user_stream")
Resolve = Callable[[str], InstrumentId | None]
_KEY_PATH = {BinanceMarket.SPOT: "/api/v3/userDataStream",
             BinanceMarket.USDM: "/fapi/v1/listenKey"}


def _d(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def report_from_event(data: Mapping[str, Any], resolve: Resolve) -> ExecutionReport | None:
    """A spot `executionReport` or USD-M `ORDER_TRADE_UPDATE` as an ExecutionReport."""
    event = data.get("e")
    if event == "executionReport":
        o, ts_ms = data, int(data.get("T") or data.get("E") or 0)
        client_id = str(o.get("C") or o.get("c"))  # C: the cancelled order's own id
        average_quote = _d(o.get("Z"))
    elif event == "ORDER_TRADE_UPDATE":
        o = data["o"]
        ts_ms = int(o.get("T") or data.get("T") or data.get("E") or 0)
        client_id = str(o.get("c"))
        average_quote = None
    else:
        return None
    instrument_id = resolve(str(o.get("s")))
    if instrument_id is None:
        return None
    filled = _d(o.get("z"))
    average: Price | None = None
    if filled > 0:
        avg = _d(o.get("ap")) if average_quote is None else average_quote / filled
        average = Price(avg) if avg > 0 else None
    order_id = str(o.get("i"))
    fills: tuple[VenueFill, ...] = ()
    if o.get("x") == "TRADE" and _d(o.get("l")) > 0:
        fills = (VenueFill(
            fill_id=str(o.get("t")), client_order_id=client_id, venue_order_id=order_id,
            instrument_id=instrument_id, side=Side(str(o.get("S")).lower()),
            price=Price(_d(o.get("L"))), quantity=Quantity(_d(o.get("l"))),
            fee=Quantity(abs(_d(o.get("n")))), fee_asset=str(o.get("N") or ""),
            liquidity=Liquidity.MAKER if o.get("m") else Liquidity.TAKER,
            ts_ns=ts_ms * NS_PER_MS,
        ),)
    reason = o.get("r")
    return ExecutionReport(
        client_order_id=client_id, venue_order_id=order_id, instrument_id=instrument_id,
        status=STATUS.get(str(o.get("X")), OrderStatus.ACCEPTED),
        filled_quantity=Quantity(filled), average_price=average, ts_ns=ts_ms * NS_PER_MS,
        reason=str(reason) if reason and reason != "NONE" else None, fills=fills,
    )


class UserStream:
    """One market's user-data stream for one API key."""

    def __init__(
        self,
        client: SignedClient,
        ws_base: str,
        resolve: Resolve,
        *,
        keepalive_s: float = 30 * 60.0,
        backoff_initial_s: float = 0.2,
        backoff_max_s: float = 10.0,
        on_account: Callable[[Mapping[str, Any]], None] | None = None,
        on_reconnect: Callable[[], Awaitable[None]] | None = None,
        ws_api_url: str | None = None,
    ) -> None:
        self.client = client
        self.market = client.market
        self._ws_base = ws_base.rstrip("/")
        self._resolve = resolve
        self.keepalive_s = keepalive_s
        self._backoff = (backoff_initial_s, backoff_max_s)
        self._on_account = on_account
        self._on_reconnect = on_reconnect
        self.ws_api_url = ws_api_url  # set: subscribe on the WebSocket API, no listenKey
        self.queue: asyncio.Queue[ExecutionReport] = asyncio.Queue()
        self.listen_key: str | None = None
        self.connected = asyncio.Event()
        self.sessions = 0
        self.keepalives = 0
        self._task: asyncio.Task[None] | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self._closing = False

    # --- listenKey ----------------------------------------------------------------------

    async def _create_key(self) -> str:
        body = await self.client.call("POST", _KEY_PATH[self.market], signed=False,
                                      mutating=False)
        return str(body["listenKey"])

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self.keepalive_s)
            key = self.listen_key
            if key is None:
                continue
            params = [("listenKey", key)] if self.market is BinanceMarket.SPOT else []
            try:
                await self.client.call("PUT", _KEY_PATH[self.market], params, signed=False)
                self.keepalives += 1
            except VenueRejected as error:  # -1125: the key is gone; the reader renews it
                log.warning("binance.listen_key_lost", code=error.venue_code)
                self.listen_key = None
            except VenueError as error:
                log.warning("binance.keepalive_failed", error=error.message)

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self, wait_s: float = 10.0) -> None:
        if self._task is None:
            self._closing = False
            self._task = asyncio.create_task(self._run(), name=f"binance-user-{self.market}")
            if self.ws_api_url is None:
                self._keepalive = asyncio.create_task(self._keep_alive())
        await asyncio.wait_for(self.connected.wait(), wait_s)

    async def close(self) -> None:
        self._closing = True
        for task in (self._task, self._keepalive):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._keepalive = None
        if self.listen_key is not None:
            params = [("listenKey", self.listen_key)] if self.market is BinanceMarket.SPOT \
                else []
            with contextlib.suppress(VenueError):
                await self.client.call("DELETE", _KEY_PATH[self.market], params, signed=False)
            self.listen_key = None

    async def _run(self) -> None:
        delay = self._backoff[0]
        while not self._closing:
            try:
                if self.ws_api_url is not None:
                    await self._ws_api_session(self.ws_api_url)
                else:
                    if self.listen_key is None:
                        self.listen_key = await self._create_key()
                    await self._session(self.listen_key)
                delay = self._backoff[0]
            except (OSError, ConnectionClosed, InvalidHandshake, InvalidURI, VenueError,
                    TimeoutError) as error:
                log.warning("binance.user_stream_down", market=self.market.value,
                            error=repr(error))
                if isinstance(error, InvalidHandshake):
                    self.listen_key = None  # an unknown key is refused at the handshake
            self.connected.clear()
            if self._closing:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff[1])

    async def _opened(self) -> None:
        self.sessions += 1
        self.connected.set()
        if self.sessions > 1 and self._on_reconnect is not None:
            await self._on_reconnect()

    async def _session(self, key: str) -> None:
        async with connect(f"{self._ws_base}/ws/{key}", max_size=1 << 22) as ws:
            await self._opened()
            async for raw in ws:
                data = orjson.loads(raw)
                if isinstance(data, dict) and not self._handle(data):
                    return

    async def _ws_api_session(self, url: str) -> None:
        async with connect(url, max_size=1 << 22) as ws:
            params = await self.client.ws_api_params({})
            await ws.send(orjson.dumps({"id": "argosy-user-stream",
                                        "method": "userDataStream.subscribe.signature",
                                        "params": params}).decode())
            answer = orjson.loads(await asyncio.wait_for(ws.recv(), 10.0))
            if answer.get("status") != 200:
                error = answer.get("error") or {}
                raise VenueRejected(f"binance user stream subscribe: {error.get('msg')}",
                                    venue="binance", venue_code=str(error.get("code")))
            await self._opened()
            async for raw in ws:
                data = orjson.loads(raw)
                if isinstance(data, dict) and isinstance(data.get("event"), dict) and \
                        not self._handle(data["event"]):
                    return

    def _handle(self, data: Mapping[str, Any]) -> bool:
        """Act on one event; False when the stream has ended and must be renewed."""
        kind = data.get("e")
        if kind in ("listenKeyExpired", "eventStreamTerminated"):
            self.listen_key = None
            return False
        if kind in ("ACCOUNT_UPDATE", "outboundAccountPosition"):
            if self._on_account is not None:
                self._on_account(data)
            return True
        report = report_from_event(data, self._resolve)
        if report is not None:
            self.queue.put_nowait(report)
        return True
