"""The live `OrderPort`: a strategy's orders go to the trading service over HTTP.

Why HTTP and not a venue object: a live order must pass the same pre-trade risk, account
checks and idempotency as a manual one, and those live in the trading service. The
strategy's calls are synchronous (`submit` returns at once, as in a backtest); the port
queues each order and one sender task posts them in order, so a strategy never waits on
the network and orders leave in the sequence it placed them. An order the trading service
refuses comes back as a `rejected` report, exactly as the paper venue's refusal does in a
backtest. Outcomes (fills, order updates) arrive from the bus, not from the HTTP answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any, Protocol

import structlog

from argosy.kernel.clock import Clock
from argosy.kernel.errors import ArgosyError, Unavailable
from argosy.kernel.instruments import Instrument, InstrumentId
from argosy.kernel.money import Quantity
from argosy.kernel.orders import ExecutionReport, OrderRequest, OrderStatus
from argosy.platform.auth.internal import InternalAuth, Principal
from argosy.platform.clients.base import ServiceClient
from argosy.services.strategy.domain.strategy import floor_to_step
from argosy.services.strategy.live.wire import order_body

__all__ = ["HttpTrading", "LivePort", "TradingApi"]

log = structlog.get_logger("argosy.strategy.live")

_ZERO = Decimal(0)
_PERMISSIONS = frozenset({"orders:read", "orders:write", "accounts:read"})
# live all-in buys are sized at the last price; keep room for the fee and a price move
_ALL_IN_MARGIN = Decimal("0.98")


class TradingApi(Protocol):
    """The trading service as one user sees it (HTTP in production)."""

    async def place(self, body: dict[str, Any]) -> dict[str, Any]: ...

    async def cancel(self, order_id: str) -> None: ...

    async def balances(self, account_id: str) -> dict[str, Decimal]: ...

    async def close(self) -> None: ...


class HttpTrading:
    """`TradingApi` over `platform.clients`: an internal identity token for the user who
    owns the deployment, minted as the gateway does, with only the order permissions."""

    def __init__(self, base_url: str, auth: InternalAuth, user_id: str, org: str | None, *,
                 timeout_s: float = 10.0, transport: Any = None) -> None:
        principal = Principal(f"user:{user_id}", _PERMISSIONS, org=org)
        self._client = ServiceClient("trading", base_url, auth=auth, caller=principal,
                                     timeout_s=timeout_s, transport=transport)

    async def place(self, body: dict[str, Any]) -> dict[str, Any]:
        # the same client order id with the same body is the same order (idempotent)
        return dict(await self._client.post_json("/api/v1/orders", body))

    async def cancel(self, order_id: str) -> None:
        await self._client.request("DELETE", f"/api/v1/orders/{order_id}")

    async def balances(self, account_id: str) -> dict[str, Decimal]:
        doc = await self._client.get_json("/api/v1/balances")
        return {str(b["asset"]): Decimal(str(b["available"])) for b in doc.get("items", [])
                if b.get("account_id") == account_id}

    async def close(self) -> None:
        await self._client.close()


class LivePort:
    """`OrderPort` of one deployment. `reject` hands a refusal back to the runner."""

    def __init__(self, account_id: str, trading: TradingApi, clock: Clock,
                 reject: Callable[[ExecutionReport], None],
                 publish_signal: Callable[[str, float, int], Coroutine[Any, Any, None]]) -> None:
        self.account_id, self.trading, self.clock = account_id, trading, clock
        self._reject, self._publish_signal = reject, publish_signal
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.order_ids: dict[str, str] = {}  # client order id -> trading's order id
        self.balances: dict[str, Decimal] = {}
        self.books: dict[InstrumentId, tuple[Decimal | None, Decimal | None]] = {}
        self.sent = 0
        self._timers: set[asyncio.TimerHandle] = set()
        self._signals: set[asyncio.Task[None]] = set()
        self.on_order_id: Callable[[str, str], None] = lambda _coid, _oid: None

    # -- OrderPort -----------------------------------------------------------------------
    def submit(self, order: OrderRequest) -> None:
        self._queue.put_nowait(("submit", order))

    def cancel(self, instrument_id: InstrumentId, client_order_id: str) -> None:
        self._queue.put_nowait(("cancel", client_order_id))

    def free(self, asset: str) -> Decimal:
        return self.balances.get(asset, _ZERO)

    def best_prices(self, instrument_id: InstrumentId) -> tuple[Decimal | None, Decimal | None]:
        return self.books.get(instrument_id, (None, None))

    def all_in_quantity(self, instrument: Instrument, reference: Decimal) -> Decimal:
        if reference <= 0:
            return _ZERO
        return floor_to_step(_ALL_IN_MARGIN * self.free(instrument.quote) / reference,
                             instrument.lot_size.value)

    def call_at(self, at_ns: int, callback: Callable[[int], object]) -> object:
        loop = asyncio.get_running_loop()
        delay = max(0.0, (at_ns - self.clock.now_ns()) / 1e9)
        handle = loop.call_later(delay, lambda: callback(self.clock.now_ns()))
        self._timers.add(handle)
        return handle

    def signal(self, name: str, value: float, ts_ns: int) -> None:
        task = asyncio.get_running_loop().create_task(self._publish_signal(name, value, ts_ns))
        self._signals.add(task)  # a signal lost to a bus outage is not retried: it is stale
        task.add_done_callback(self._signal_done)

    def _signal_done(self, task: asyncio.Task[None]) -> None:
        self._signals.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("deployment.signal_lost", error=str(task.exception()))

    # -- the sender ----------------------------------------------------------------------
    async def refresh_balances(self) -> None:
        with contextlib.suppress(Unavailable):
            self.balances = await self.trading.balances(self.account_id)

    async def run(self) -> None:
        """Post queued orders and cancels in order, until cancelled."""
        while True:
            kind, item = await self._queue.get()
            try:
                if kind == "submit":
                    await self._send(item)
                else:
                    await self._cancel(item)
            finally:
                self._queue.task_done()

    async def drain(self) -> None:
        """Wait until everything queued so far has been sent (tests, orderly stop)."""
        await self._queue.join()

    async def _send(self, order: OrderRequest) -> None:
        body = order_body(order, self.account_id)
        for attempt in range(3):
            try:
                answer = await self.trading.place(body)
            except Unavailable as exc:
                if attempt == 2:
                    self._refused(order, exc.message)
                    return
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            except ArgosyError as exc:  # risk, balance, filters: the order is refused
                self._refused(order, exc.message)
                return
            self.sent += 1
            order_id = str(answer.get("id", ""))
            if order_id:
                self.order_ids[order.client_order_id] = order_id
                self.on_order_id(order.client_order_id, order_id)
            return

    async def _cancel(self, client_order_id: str) -> None:
        order_id = self.order_ids.get(client_order_id)
        if order_id is None:
            return
        try:
            await self.trading.cancel(order_id)
        except ArgosyError as exc:  # already final: its report arrives on the bus
            log.info("deployment.cancel_refused", order=order_id, error=exc.message)

    def _refused(self, order: OrderRequest, reason: str) -> None:
        log.info("deployment.order_refused", order=order.client_order_id, reason=reason)
        self._reject(ExecutionReport(order.client_order_id, None, order.instrument_id,
                                     OrderStatus.REJECTED, Quantity(0), None,
                                     self.clock.now_ns(), reason=reason))

    def close(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
