"""Driving execution algorithms: the clock, market snapshots and child reports in, child
orders out, the state saved where the children are.

Every call on an algorithm (a tick, a pause, a cancel...) is serialised per algorithm and
works from the database, not from memory: load the row, rebuild the object from
`params`, `restore` its checkpoint, fold in the latest report of each child (read from the
child's own order row, so the stream, the send answer and reconciliation all reach the
parent the same way, and a restart needs nothing more), call the algorithm, then carry
out its intents:

- `SubmitChild` → an ordinary order, stored through `OrdersService._store` (shape and
  instrument checks, balance, the pre-trade gate) with `parent_algo_id`, and the parent's
  checkpoint written in that same transaction; then sent by the normal sending path. A
  child refused by a check is fed back to the parent as a rejected report, so the
  algorithm's `max_rejections` applies.
- `CancelChild` → the normal cancel path of the order.

A crash after that commit leaves a `new` child that recovery sends or reconciles; a crash
before it loses the child and the checkpoint together. The one remaining window (a SOR
plan's later children, after the first child's commit) leaves children the checkpoint
knows but no order row holds: the next call feeds those back as rejected.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.kernel.errors import ArgosyError
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import TradeTick, from_dict
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import ExecutionReport, OrderStatus
from argosy.platform.bus.base import Envelope
from argosy.services.trading.domain.algos import (
    AlgoStatus,
    CancelChild,
    Intent,
    MarketSnapshot,
    ParentAlgo,
    SubmitChild,
)
from argosy.services.trading.domain.checks import OrderSpec, check_shape
from argosy.services.trading.models import AccountRow, AlgoRow, OrderRow
from argosy.services.trading.service._context import Deps
from argosy.services.trading.service.algo_params import build
from argosy.services.trading.service.market_feed import MarketFeed
from argosy.services.trading.service.orders import OrdersService
from argosy.services.trading.service.sending import Sender

__all__ = ["Action", "AlgoDriver"]

log = structlog.get_logger("argosy.trading.algos")

Action = Callable[[ParentAlgo, int], list[Intent]]
_OPEN = ("new", "submitted", "submitted_unknown", "accepted", "partially_filled")
_LIVE = (AlgoStatus.RUNNING.value, AlgoStatus.PAUSED.value)
_MAX_ROUNDS = 50  # intents -> reports -> intents...; an IOC parent settles in a few


def _report(row: OrderRow) -> ExecutionReport:
    """The child's latest known state, as the cumulative report the algorithm folds in."""
    return ExecutionReport(
        client_order_id=row.client_order_id, venue_order_id=row.venue_order_id,
        instrument_id=InstrumentId.parse(row.instrument), status=OrderStatus(row.status),
        filled_quantity=Quantity(row.filled_quantity),
        average_price=Price(row.average_price) if row.average_price else None,
        ts_ns=row.updated_ns, reason=row.reason)


class AlgoDriver:
    def __init__(self, d: Deps, orders: OrdersService, sender: Sender, feed: MarketFeed
                 ) -> None:
        self.d, self.orders, self.sender, self.feed = d, orders, sender, feed
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._wake: dict[str, int] = {}  # algo id -> when the next tick must drive it
        # public traded volume per instrument since this process started (POV differences
        # it, so the origin is irrelevant and a restart simply re-bases)
        self.volume: dict[str, Decimal] = defaultdict(Decimal)

    # -- loading -------------------------------------------------------------------------
    async def load(self, s: AsyncSession, algo_id: str
                   ) -> tuple[AlgoRow, ParentAlgo, list[OrderRow]] | None:
        row = await s.get(AlgoRow, algo_id)
        if row is None:
            return None
        instrument = await self.d.instruments.get(row.instrument)
        algo = build(row.id, row.params, instrument)
        algo.restore(row.state)
        children = list(await s.scalars(select(OrderRow).where(
            OrderRow.parent_algo_id == algo_id).order_by(OrderRow.created_ns)))
        return row, algo, children

    def snapshot(self, instrument: str, now_ns: int) -> MarketSnapshot:
        top = self.d.marks.top(instrument)
        bid = Price(top.bid) if top is not None and top.bid is not None else None
        ask = Price(top.ask) if top is not None and top.ask is not None else None
        return MarketSnapshot(now_ns, bid, ask, Quantity(self.volume.get(instrument, 0)))

    # -- one call ------------------------------------------------------------------------
    async def drive(self, algo_id: str, action: Action | None = None) -> None:
        """Sync the children, apply `action` (pause, cancel...), step, carry out, save."""
        async with self._locks[algo_id]:
            async with self.d.db.read() as s:
                loaded = await self.load(s, algo_id)
            if loaded is None:
                return
            row, algo, children = loaded
            before = algo.checkpoint()
            now = self.d.now()
            intents = self._sync(algo, children)
            if action is not None:
                intents += action(algo, now)  # Conflict propagates: nothing was changed
            if algo.status is AlgoStatus.RUNNING:
                await self.feed.ensure_book(row.instrument)
                intents += algo.step(now, self.snapshot(row.instrument, now))
            await self._carry(row, algo, intents)
            if algo.checkpoint() != before:
                async with self.d.db.transaction() as s:
                    await self._save(s, algo_id, algo)
            self._schedule(algo_id, algo, now)

    def _schedule(self, algo_id: str, algo: ParentAlgo, now: int) -> None:
        """Schedules sleep until their next slice; anything with open children or driven
        by market data (iceberg, POV, SOR) is looked at every tick."""
        wake = algo.wake_at_ns(now) if not algo.open_children() else None
        if algo.status.is_terminal and not algo.open_children():
            self._wake.pop(algo_id, None)
        elif wake is not None and algo.kind in ("twap", "vwap"):
            self._wake[algo_id] = wake
        else:
            self._wake[algo_id] = now

    def _sync(self, algo: ParentAlgo, children: list[OrderRow]) -> list[Intent]:
        """Fold in each open child's order row. Lost children are judged first, on what
        the algorithm knew before: a report may make it create a child right here, which
        has no row *yet* and must not be mistaken for a lost one."""
        intents: list[Intent] = []
        stored = {c.client_order_id for c in children}
        lost = [c for c in algo.open_children() if c.child_id not in stored]
        for child in lost:  # its checkpoint was written, its order row never was
            intents += algo.on_report(ExecutionReport(
                child.child_id, None, algo.spec.instrument.id, OrderStatus.REJECTED,
                child.filled, None, self.d.now(),
                "the child order was never stored (crash before its commit)"))
        for row in children:
            known = algo.children.get(row.client_order_id)
            if known is not None and known.is_open and row.status != OrderStatus.NEW:
                intents += algo.on_report(_report(row))  # cumulative: repeats are no-ops
        return intents

    async def _save(self, s: AsyncSession, algo_id: str, algo: ParentAlgo) -> None:
        row = await s.scalar(select(AlgoRow).where(AlgoRow.id == algo_id).with_for_update())
        assert row is not None
        row.state = algo.checkpoint()
        row.status, row.reason = algo.status.value, algo.reason
        row.updated_ns = self.d.now()
        row.version = (row.version or 0) + 1

    # -- carrying out --------------------------------------------------------------------
    async def _carry(self, row: AlgoRow, algo: ParentAlgo, intents: list[Intent]) -> None:
        for _ in range(_MAX_ROUNDS):
            if not intents:
                return
            more: list[Intent] = []
            for intent in intents:
                if isinstance(intent, SubmitChild):
                    more += await self._submit(row, algo, intent)
                else:
                    await self._cancel(row, intent)
            async with self.d.db.read() as s:
                children = list(await s.scalars(select(OrderRow).where(
                    OrderRow.parent_algo_id == row.id)))
            intents = more + self._sync(algo, children)
        log.warning("algos.carry_rounds_exhausted", algo=row.id)

    async def _account(self, row: AlgoRow, algo: ParentAlgo, child_id: str) -> AccountRow:
        account_of = getattr(algo, "account_of", None)
        account_id = (account_of(child_id) if account_of is not None else None) \
            or row.account_id
        async with self.d.db.read() as s:
            account = await self.d.store.account(s, account_id)
        assert account is not None
        return account

    async def _submit(self, row: AlgoRow, algo: ParentAlgo, intent: SubmitChild
                      ) -> list[Intent]:
        o = intent.order
        spec = OrderSpec(o.side, o.type, o.quantity, o.price, o.stop_price, o.trailing_bps,
                         o.time_in_force, o.expire_at_ns, o.reduce_only)
        key = str(o.instrument_id)

        async def checkpoint(s: AsyncSession) -> None:
            await self._save(s, row.id, algo)

        try:
            account = await self._account(row, algo, intent.child_id)
            check_shape(spec, self.d.now())
            async with self.orders._locks[account.id]:
                await self.orders.reconciler.ensure_ready(account)
                order = await self.orders._store(
                    None, account, intent.child_id, spec.fingerprint(account.id, key), key,
                    spec, parent_algo_id=row.id, also=checkpoint)
        except ArgosyError as exc:
            log.info("algos.child_refused", algo=row.id, child=intent.child_id,
                     error=exc.message)
            return algo.on_report(ExecutionReport(
                intent.child_id, None, o.instrument_id, OrderStatus.REJECTED, Quantity(0),
                None, self.d.now(), f"{exc.code}: {exc.message}"))
        await self.sender.send(account, order.id)
        return []

    async def _cancel(self, row: AlgoRow, intent: CancelChild) -> None:
        async with self.d.db.read() as s:
            child = await s.scalar(select(OrderRow).where(
                OrderRow.parent_algo_id == row.id,
                OrderRow.client_order_id == intent.child_id))
            account = None if child is None else await self.d.store.account(
                s, child.account_id)
        if child is None or account is None:
            return  # never stored: the next sync reports it rejected
        try:
            await self.orders.cancel_row(account, child)
        except ArgosyError as exc:  # the order's own recovery settles it; sync follows
            log.warning("algos.cancel_failed", algo=row.id, child=intent.child_id,
                        error=exc.message)

    # -- the background task -------------------------------------------------------------
    async def live_ids(self) -> list[str]:
        """Running and paused algorithms, and finished ones whose children are still open
        (late fills still count)."""
        async with self.d.db.read() as s:
            live = set(await s.scalars(select(AlgoRow.id).where(AlgoRow.status.in_(_LIVE))))
            live |= {i for i in await s.scalars(select(OrderRow.parent_algo_id).where(
                OrderRow.parent_algo_id.is_not(None), OrderRow.status.in_(_OPEN))) if i}
        return sorted(live)

    async def tick(self) -> int:
        """Drive every algorithm that is due; how many were driven."""
        now, driven = self.d.now(), 0
        for algo_id in await self.live_ids():
            if self._wake.get(algo_id, 0) > now:
                continue
            try:
                await self.drive(algo_id)
                driven += 1
            except Exception as exc:  # one broken algorithm must not stop the others
                log.error("algos.drive_failed", algo=algo_id,
                          error=f"{type(exc).__name__}: {exc}")
                self._wake[algo_id] = now + 5_000_000_000
        return driven

    async def run(self, every_s: float, ready: Callable[[], Awaitable[Any]]) -> None:
        """After recovery (so restored algorithms see reconciled children), forever."""
        await ready()
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database away for a moment: try next tick
                log.warning("algos.tick_failed", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(every_s)

    async def on_trades(self, env: Envelope) -> None:
        data = env.json()
        if data.get("type") != "trades":
            return
        for item in data.get("items", []):
            try:
                trade = from_dict(item)
            except (ArgosyError, KeyError, ValueError, TypeError):
                continue
            if isinstance(trade, TradeTick):
                self.volume[str(trade.instrument_id)] += trade.quantity.value
