"""One live deployment: bus events in, strategy callbacks out, on one task.

Every input (a bar, a trade batch, an order or fill event, a refusal from the port) joins
one queue and one task hands it to the strategy, so callbacks never overlap, just as in the
backtester's loop. Fills are matched to the strategy's orders by the trading service's
order id; a fill event can overtake the HTTP answer that names that id, so fills of an id
not yet known wait (bounded) until the answer or the order event names it. Anything the
strategy raises stops this deployment through `Sink.failed`, never the service.
"""

from __future__ import annotations

import asyncio
import traceback
from collections import OrderedDict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Protocol

import structlog

from argosy.contracts.topics import market, market_bar, trading
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Bar, BookDelta, Interval, TradeTick
from argosy.kernel.orders import ExecutionReport, VenueFill
from argosy.platform.bus.base import Bus, Envelope, Subscription
from argosy.services.strategy.domain.bars import BarBuilder
from argosy.services.strategy.domain.strategy import Strategy, StrategyContext
from argosy.services.strategy.live.port import LivePort
from argosy.services.strategy.live.wire import fill_from_event, market_messages, report_from_event

__all__ = ["DeploymentRunner", "Sink"]

log = structlog.get_logger("argosy.strategy.live")

_MAX_WAITING = 2000


class Sink(Protocol):
    """Where a runner records what happened (the deployment service: its tables)."""

    async def order(self, deployment_id: str, report: ExecutionReport) -> None: ...

    async def fill(self, deployment_id: str, fill: VenueFill) -> None: ...

    async def failed(self, deployment_id: str, error: str) -> None: ...


class _StrategyError(Exception):
    pass


class DeploymentRunner:
    def __init__(self, deployment_id: str, strategy: Strategy, ctx: StrategyContext,
                 port: LivePort, bus: Bus, sink: Sink, *, feed: str, interval: Interval,
                 order_prefix: str, known_fills: Iterable[str] = ()) -> None:
        self.id, self.strategy, self.ctx, self.port = deployment_id, strategy, ctx, port
        self.bus, self.sink, self.feed, self.interval = bus, sink, feed, interval
        self.paused = False
        self.events: asyncio.Queue[tuple[str, Any, asyncio.Future[None] | None]] = \
            asyncio.Queue()
        self._in_flight: set[asyncio.Future[None]] = set()
        self._prefix = order_prefix  # the client order ids of every incarnation
        self._by_order: dict[str, str] = {v: k for k, v in port.order_ids.items()}
        self._waiting: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self._seen_fills: set[str] = set(known_fills)
        self._builders = {i: BarBuilder(i, interval) for i in ctx.instruments}
        self._subs: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.handled = 0
        self.bars_seen = 0
        self._reported: dict[str, Decimal] = {}  # filled quantity per order, as reported
        self._filled: dict[str, Decimal] = {}  # the same, from the fills received
        port.on_order_id = self._learned

    # -- lifecycle -----------------------------------------------------------------------
    def topics(self) -> list[str]:
        out = [trading("order", self.port.account_id), trading("fill", self.port.account_id)]
        for iid in self.ctx.instruments:
            if self.feed == "bar":
                out.append(market_bar(self.interval.value, str(iid)))
            else:
                out.append(market("trade", str(iid)))
            if self.feed == "book":
                out.append(market("book", str(iid)))
        return out

    async def start(self) -> None:
        await self.port.refresh_balances()
        self.strategy.bind(self.ctx)
        self._tasks.append(asyncio.create_task(self.port.run(), name=f"orders:{self.id}"))
        self._tasks.append(asyncio.create_task(self._loop(), name=f"deployment:{self.id}"))
        self.events.put_nowait(("start", None, None))
        for topic in self.topics():
            if topic.startswith("trading."):  # durable: what arrives while down is kept
                self._subs.append(await self.bus.subscribe(
                    topic, self._on_trading, group=f"strategy-{self.id}"))
            else:  # market data: only the present matters to a live strategy
                self._subs.append(await self.bus.subscribe(topic, self._on_message))

    async def stop(self, *, call_on_stop: bool = True, cancel_open: bool = True) -> None:
        """Unsubscribe, let the strategy stop, cancel what it left open, then end. A
        service shutdown keeps the orders working (`cancel_open=False`): the deployment
        resumes after the restart and their fills reach it then."""
        for waiting in list(self._in_flight):  # not handled: the bus delivers it again
            waiting.cancel()
        for sub in self._subs:
            await sub.stop()
        self._subs.clear()
        if call_on_stop:
            try:
                self.strategy.on_stop()
            except Exception:  # a strategy that raises while stopping is stopping anyway
                log.warning("deployment.on_stop_failed", id=self.id, exc_info=True)
        if cancel_open:
            self.ctx.cancel_all()
        try:
            async with asyncio.timeout(5):
                await self.port.drain()
        except TimeoutError:
            log.warning("deployment.drain_timeout", id=self.id)
        self.port.close()
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        self._tasks.clear()

    async def settled(self, within_s: float = 10.0) -> None:
        """Wait until the queue is empty and the port has sent everything (tests)."""
        async with asyncio.timeout(within_s):
            while True:
                await self.events.join()
                await self.port.drain()
                if self.events.empty():
                    return

    # -- inputs --------------------------------------------------------------------------
    async def _on_message(self, env: Envelope) -> None:
        kind = env.topic.split(".", 2)
        self.events.put_nowait((f"{kind[0]}.{kind[1]}", env.json(), None))

    async def _on_trading(self, env: Envelope) -> None:
        """Acknowledged only once handled (its fill stored), so a crash in between gets
        the event again after the restart; handling is idempotent by fill id."""
        kind = env.topic.split(".", 2)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._in_flight.add(done)
        try:
            self.events.put_nowait((f"{kind[0]}.{kind[1]}", env.json(), done))
            await done
        finally:
            self._in_flight.discard(done)

    def reject(self, report: ExecutionReport) -> None:
        self.events.put_nowait(("report", report, None))

    def _learned(self, client_order_id: str, order_id: str) -> None:
        self._by_order[order_id] = client_order_id
        for data in self._waiting.pop(order_id, []):
            self.events.put_nowait(("trading.fill", data, None))

    # -- the loop ------------------------------------------------------------------------
    async def _loop(self) -> None:
        while True:
            kind, data, done = await self.events.get()
            try:
                await self._handle(kind, data)
            except _StrategyError as exc:
                self.events.task_done()
                _finish(done)
                await self._fail(str(exc))
                return
            except Exception:  # a malformed event or a store error: skip it, keep running
                log.error("deployment.event_failed", id=self.id, kind=kind, exc_info=True)
            self.handled += 1
            _finish(done)
            self.events.task_done()

    async def _fail(self, error: str) -> None:
        log.warning("deployment.strategy_failed", id=self.id, error=error.splitlines()[0])
        try:
            await self.stop(call_on_stop=False)
        finally:
            await self.sink.failed(self.id, error)

    def _call(self, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except Exception as exc:
            raise _StrategyError(f"{type(exc).__name__}: {exc}\n" + "".join(
                traceback.format_exception(exc, limit=-8))) from exc

    async def _handle(self, kind: str, data: Any) -> None:
        if kind == "start":
            self._call(self.strategy.on_start)
        elif kind == "report":
            await self._report(data)
        elif kind == "trading.order":
            coid = str(data.get("client_order_id") or "")
            if coid.startswith(self._prefix):
                self._learned(coid, str(data["order_id"]))
                await self._report(report_from_event(data))
        elif kind == "trading.fill":
            await self._fill(data)
        elif kind == "md.bar" and not self.paused:
            for message in market_messages(data):
                if isinstance(message, Bar):
                    self._bar(message)
        elif kind in ("md.trade", "md.book") and not self.paused:
            self._market(data)

    def caught_up(self) -> bool:
        """No open order, and every reported execution's fill received (replays wait
        for it before the next event, as the backtester's loop does)."""
        return not self.ctx.open_orders and all(
            self._filled.get(coid, Decimal(0)) == qty for coid, qty in self._reported.items())

    def _bar(self, bar: Bar) -> None:
        self.bars_seen += 1
        self.ctx.last_price[bar.instrument_id] = bar.close.value
        self._call(self.strategy.on_bar, bar)

    def _market(self, data: dict[str, Any]) -> None:
        if data.get("type") == "book_snapshot":
            iid = InstrumentId.parse(data["instrument_id"])
            bids, asks = data.get("bids") or [], data.get("asks") or []
            self.port.books[iid] = (Decimal(bids[0][0]) if bids else None,
                                    Decimal(asks[0][0]) if asks else None)
            return
        deltas: list[BookDelta] = []
        for message in market_messages(data):
            if isinstance(message, TradeTick):
                bar = self._builders[message.instrument_id].update(message)
                if bar is not None:
                    self._bar(bar)
                self.ctx.last_price[message.instrument_id] = message.price.value
                self._call(self.strategy.on_trade, message)
            elif isinstance(message, BookDelta):
                deltas.append(message)
        if deltas:
            self._call(self.strategy.on_book, deltas[-1])

    async def _report(self, report: ExecutionReport) -> None:
        self._reported[report.client_order_id] = max(
            report.filled_quantity.value, self._reported.get(report.client_order_id, Decimal(0)))
        await self.sink.order(self.id, report)
        self.ctx.on_report(report)
        self._call(self.strategy.on_order, report)

    async def _fill(self, data: dict[str, Any]) -> None:
        fill_id = f"{data['instrument']}:{data['fill_id']}"
        if fill_id in self._seen_fills:
            return
        order_id = str(data["order_id"])
        coid = self._by_order.get(order_id)
        if coid is None:  # not ours, or ours before the HTTP answer named it
            self._waiting.setdefault(order_id, []).append(data)
            while len(self._waiting) > _MAX_WAITING:
                self._waiting.popitem(last=False)
            return
        self._seen_fills.add(fill_id)
        fill = fill_from_event(data, coid)
        self._filled[coid] = self._filled.get(coid, Decimal(0)) + fill.quantity.value
        await self.sink.fill(self.id, fill)
        self.ctx.portfolio.apply(fill)  # positions first, as `StrategyContext.on_report`
        self._call(self.strategy.on_fill, fill)
        await self.port.refresh_balances()


def _finish(done: asyncio.Future[None] | None) -> None:
    if done is not None and not done.done():
        done.set_result(None)
