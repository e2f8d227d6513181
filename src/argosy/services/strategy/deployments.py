"""Deployment use-cases: start, list, read, pause, resume and stop live strategies.

A deployment is checked completely before it is stored (strategy known, parameters in
range → 422, instruments tradable, the account the caller's), then runs in this process as
a `DeploymentRunner`. Its row says what to run, so a restarted service resumes every
`running` or `paused` deployment with a new incarnation number in its client order ids
(the old ids stay the old orders) and positions rebuilt from the stored fills. A stop —
asked for, or forced by the strategy raising — commits the state change and the
`strategy.deployment.stopped` event in one transaction (the outbox).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any

import structlog

from argosy.contracts.topics import STRATEGY_DEPLOYMENT_STOPPED, strategy_signal
from argosy.contracts.v1.events import DeploymentStopped
from argosy.kernel.clock import Clock, LiveClock
from argosy.kernel.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from argosy.kernel.ids import new_id
from argosy.kernel.instruments import Instrument, InstrumentId
from argosy.kernel.messages import Interval, Side
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import ExecutionReport, Liquidity, VenueFill
from argosy.platform.auth.internal import Principal
from argosy.platform.bus.base import Bus
from argosy.platform.db.engine import Database
from argosy.platform.db.outbox import Outbox
from argosy.services.strategy.domain.portfolio import Portfolio
from argosy.services.strategy.domain.strategy import Strategy, StrategyContext
from argosy.services.strategy.live.port import LivePort, TradingApi
from argosy.services.strategy.live.runner import DeploymentRunner
from argosy.services.strategy.model_loading import provide_model
from argosy.services.strategy.models_registry import ModelRegistry
from argosy.services.strategy.plugins import StrategyRegistry
from argosy.services.strategy.schemas_dep import DeploymentRequest
from argosy.services.strategy.store_dep import (
    DeploymentFillRow,
    DeploymentOrderRow,
    DeploymentRow,
    DeploymentStore,
)

__all__ = ["DeploymentService", "InstrumentLookup", "TradingFactory"]

log = structlog.get_logger("argosy.strategy.deployments")

#: (user id, org) -> the trading API acting for that user
TradingFactory = Callable[[str, str | None], TradingApi]
#: instrument id -> its tick, lot and minimums (the market-data service in production)
InstrumentLookup = Callable[[InstrumentId], Awaitable[Instrument]]


def _user(who: Principal) -> str:
    if who.kind != "user":
        raise Forbidden("deployments trade for a user: call as the account's owner")
    return who.subject.split(":", 1)[1]


class DeploymentService:
    def __init__(self, db: Database, store: DeploymentStore, outbox: Outbox, bus: Bus,
                 registry: StrategyRegistry, trading: TradingFactory,
                 instruments: InstrumentLookup, *, clock: Clock | None = None,
                 models: ModelRegistry | None = None) -> None:
        self.db, self.store, self.outbox, self.bus = db, store, outbox, bus
        self.registry, self._trading, self._instruments = registry, trading, instruments
        self.clock = clock or LiveClock()
        self.models = models
        self.retry_s = 5.0  # between attempts to resume while a dependency is down
        self.runners: dict[str, DeploymentRunner] = {}
        self._apis: dict[str, TradingApi] = {}

    # -- use-cases -----------------------------------------------------------------------
    async def create(self, who: Principal, body: DeploymentRequest) -> dict[str, Any]:
        user_id = _user(who)
        who.require("orders:write")  # the deployment will place orders in the user's name
        info = self.registry.get(body.strategy)
        probe = info.cls(body.params)  # parameters: out of range -> Invalid naming it (422)
        if self.models is not None:
            await provide_model(probe, self.models, who.subject)  # unknown: 404
        interval = Interval.parse(body.interval)
        ids = [InstrumentId.parse(text, field="instruments") for text in body.instruments]
        if len(set(ids)) != len(ids):
            raise Invalid("instruments must be distinct", field="instruments")
        for iid in ids:
            await self._instruments(iid)
        api = self._trading(user_id, who.org)
        try:
            balances = await api.balances(body.account_id)
        finally:
            await api.close()
        if not balances:
            raise NotFound(f"no account {body.account_id} of yours", field="account_id")
        row = DeploymentRow(
            id=new_id("dep"), status="running", strategy=info.name, params=dict(body.params),
            instruments=[str(i) for i in ids], feed=body.feed, interval=interval.value,
            account_id=body.account_id, user_id=user_id, org=who.org, incarnation=0,
            created_ns=self.clock.now_ns())
        async with self.db.transaction() as s:
            self.store.add(s, row)
        try:
            await self._launch(row, [], {})
        except Exception as exc:  # the bus or the trading service went away meanwhile
            await self._abandon(row.id, exc)
            raise
        return await self.get(who, row.id)

    async def recover(self) -> None:
        """Resume what a previous process was running (a new incarnation each)."""
        async with self.db.transaction() as s:
            rows = list(await self.store.live(s))
            for row in rows:
                row.incarnation += 1
        while rows:
            later = []
            for row in rows:
                async with self.db.read() as s:
                    fills = list(await self.store.fills(s, row.id))
                    known = {o.client_order_id: o.order_id for o in
                             await self.store.orders(s, row.id) if o.order_id}
                try:
                    await self._launch(row, fills, known)
                except Unavailable as exc:  # market data or trading not up yet: retry
                    log.warning("deployment.resume_waiting", id=row.id, error=exc.message)
                    await self._drop(row.id)
                    later.append(row)
                except Exception as exc:  # a plugin gone, an instrument delisted...
                    log.error("deployment.resume_failed", id=row.id, exc_info=True)
                    await self._abandon(row.id, exc)
            rows = later
            if rows:
                await asyncio.sleep(self.retry_s)

    async def _drop(self, deployment_id: str) -> None:
        runner = self.runners.pop(deployment_id, None)
        if runner is not None:
            await runner.stop(call_on_stop=False, cancel_open=False)
        await self._close_api(deployment_id)

    async def _abandon(self, deployment_id: str, exc: Exception) -> None:
        await self._drop(deployment_id)
        await self._stopped(deployment_id, "failed", "error", f"{type(exc).__name__}: {exc}")

    async def pause(self, who: Principal, deployment_id: str) -> dict[str, Any]:
        return await self._set_paused(who, deployment_id, True)

    async def resume(self, who: Principal, deployment_id: str) -> dict[str, Any]:
        return await self._set_paused(who, deployment_id, False)

    async def stop(self, who: Principal, deployment_id: str) -> dict[str, Any]:
        row = await self._owned(who, deployment_id)
        if row.status in ("stopped", "failed"):
            return await self.get(who, deployment_id)
        runner = self.runners.pop(deployment_id, None)
        if runner is not None:
            await runner.stop()
        await self._stopped(deployment_id, "stopped", "requested", None)
        await self._close_api(deployment_id)
        return await self.get(who, deployment_id)

    async def listing(self, who: Principal, limit: int) -> list[dict[str, Any]]:
        async with self.db.read() as s:
            rows = await self.store.of_user(s, _user(who), limit)
        return [self._summary(r) for r in rows]

    async def get(self, who: Principal, deployment_id: str) -> dict[str, Any]:
        row = await self._owned(who, deployment_id)
        async with self.db.read() as s:
            orders = await self.store.orders(s, deployment_id)
            fills = await self.store.fills(s, deployment_id)
        runner = self.runners.get(deployment_id)
        doc = self._summary(row)
        doc["orders"] = [{"client_order_id": o.client_order_id, "order_id": o.order_id,
                          "instrument": o.instrument, "status": o.status,
                          "filled_quantity": o.filled_quantity,
                          "average_price": o.average_price, "reason": o.reason,
                          "updated_ns": o.updated_ns} for o in orders]
        doc["fills"] = [{"fill_id": f.fill_key, "client_order_id": f.client_order_id,
                         "order_id": f.order_id, "instrument": f.instrument, "side": f.side,
                         "price": f.price, "quantity": f.quantity, "fee": f.fee,
                         "fee_asset": f.fee_asset, "liquidity": f.liquidity,
                         "ts_ns": f.ts_ns} for f in fills]
        doc["pnl"] = _pnl([_fill_of(f) for f in fills],
                          runner.ctx.last_price if runner is not None else {})
        return doc

    # -- the runner's sink ---------------------------------------------------------------
    async def order(self, deployment_id: str, report: ExecutionReport) -> None:
        async with self.db.transaction() as s:
            row = await self.store.order(s, deployment_id, report.client_order_id)
            if row is None:
                row = DeploymentOrderRow(deployment_id=deployment_id,
                                         client_order_id=report.client_order_id,
                                         instrument=str(report.instrument_id))
                self.store.add(s, row)
            row.order_id = report.venue_order_id or row.order_id
            row.status = report.status.value
            row.filled_quantity = report.filled_quantity.to_str()
            row.average_price = (report.average_price.to_str()
                                 if report.average_price is not None else None)
            row.reason = report.reason
            row.updated_ns = self.clock.now_ns()

    async def fill(self, deployment_id: str, fill: VenueFill) -> None:
        key = f"{fill.instrument_id}:{fill.fill_id}"
        async with self.db.transaction() as s:
            if await self.store.has_fill(s, deployment_id, key):
                return
            self.store.add(s, DeploymentFillRow(
                deployment_id=deployment_id, fill_key=key,
                client_order_id=fill.client_order_id, order_id=fill.venue_order_id,
                instrument=str(fill.instrument_id), side=fill.side.value,
                price=fill.price.to_str(), quantity=fill.quantity.to_str(),
                fee=fill.fee.to_str(), fee_asset=fill.fee_asset,
                liquidity=fill.liquidity.value, ts_ns=fill.ts_ns))

    async def failed(self, deployment_id: str, error: str) -> None:
        self.runners.pop(deployment_id, None)
        await self._stopped(deployment_id, "failed", "error", error)
        await self._close_api(deployment_id)

    # -- internals -----------------------------------------------------------------------
    async def _launch(self, row: DeploymentRow, fills: list[DeploymentFillRow],
                      known: Mapping[str, str] | None = None) -> None:
        cls = self.registry.get(row.strategy).cls
        strategy: Strategy = cls(row.params)
        if self.models is not None:
            await provide_model(strategy, self.models, f"user:{row.user_id}")
        instruments = {}
        for text in row.instruments:
            iid = InstrumentId.parse(text)
            instruments[iid] = await self._instruments(iid)
        api = self._trading(row.user_id, row.org)
        self._apis[row.id] = api
        deployment_id = row.id

        async def publish_signal(name: str, value: float, ts_ns: int) -> None:
            await self.bus.publish_json(strategy_signal(deployment_id), {
                "deployment_id": deployment_id, "strategy": row.strategy, "name": name,
                "value": value, "ts_ns": ts_ns})

        holder: list[DeploymentRunner] = []
        port = LivePort(row.account_id, api, self.clock,
                        lambda report: holder[0].reject(report), publish_signal)
        port.order_ids.update(known or {})  # orders of earlier incarnations: their fills
        for f in fills:
            port.order_ids[f.client_order_id] = f.order_id
        stem = f"{_short(row.id)}r"  # then the incarnation: a restart never reuses an id
        ctx = StrategyContext(instruments, port, self.clock,
                              id_prefix=f"{stem}{row.incarnation}n")
        for f in fills:
            ctx.portfolio.apply(_fill_of(f))
        runner = DeploymentRunner(row.id, strategy, ctx, port, self.bus, self,
                                  feed=row.feed, interval=Interval.parse(row.interval),
                                  order_prefix=stem,
                                  known_fills=[f.fill_key for f in fills])
        holder.append(runner)
        runner.paused = row.status == "paused"
        self.runners[row.id] = runner
        await runner.start()

    async def _set_paused(self, who: Principal, deployment_id: str, paused: bool
                          ) -> dict[str, Any]:
        row = await self._owned(who, deployment_id)
        if row.status not in ("running", "paused"):
            raise Conflict(f"deployment {deployment_id} is {row.status}", field="id")
        async with self.db.transaction() as s:
            stored = await self.store.get(s, deployment_id)
            assert stored is not None
            stored.status = "paused" if paused else "running"
        runner = self.runners.get(deployment_id)
        if runner is not None:
            runner.paused = paused
        return await self.get(who, deployment_id)

    async def _stopped(self, deployment_id: str, status: str, reason: str,
                       error: str | None) -> None:
        async with self.db.transaction() as s:
            row = await self.store.get(s, deployment_id)
            if row is None or row.status in ("stopped", "failed"):
                return
            row.status, row.stop_reason, row.error = status, reason, error
            row.stopped_ns = self.clock.now_ns()
            event = DeploymentStopped(
                org=row.org or "", user_id=row.user_id, at_ms=row.stopped_ns // 1_000_000,
                deployment_id=deployment_id, strategy=row.strategy, account_id=row.account_id,
                reason=reason, error=error)
            await self.outbox.add(s, STRATEGY_DEPLOYMENT_STOPPED, event.model_dump(mode="json"),
                                  msg_id=f"deployment-stopped:{deployment_id}")
        log.info("deployment.stopped", id=deployment_id, status=status, reason=reason)

    async def _owned(self, who: Principal, deployment_id: str) -> DeploymentRow:
        async with self.db.read() as s:
            row = await self.store.get(s, deployment_id)
        if row is None or row.user_id != _user(who):
            raise NotFound(f"no deployment {deployment_id}", field="id")
        return row

    async def _close_api(self, deployment_id: str) -> None:
        api = self._apis.pop(deployment_id, None)
        if api is not None:
            await api.close()

    def _summary(self, row: DeploymentRow) -> dict[str, Any]:
        return {"id": row.id, "status": row.status, "strategy": row.strategy,
                "params": row.params, "instruments": row.instruments, "feed": row.feed,
                "interval": row.interval, "account_id": row.account_id,
                "incarnation": row.incarnation, "error": row.error,
                "stop_reason": row.stop_reason, "created_ns": row.created_ns,
                "stopped_ns": row.stopped_ns, "running": row.id in self.runners}

    async def close(self) -> None:
        """Service shutdown: runners end, rows stay `running` so the next start resumes."""
        for deployment_id, runner in list(self.runners.items()):
            await runner.stop(call_on_stop=False, cancel_open=False)
            await self._close_api(deployment_id)
        self.runners.clear()


def _short(deployment_id: str) -> str:
    return "d" + deployment_id.rpartition("_")[2][-10:].lower()


def _fill_of(f: DeploymentFillRow) -> VenueFill:
    return VenueFill(f.fill_key, f.client_order_id, f.order_id, InstrumentId.parse(f.instrument),
                     Side(f.side), Price(f.price), Quantity(f.quantity), Quantity(f.fee),
                     f.fee_asset, Liquidity(f.liquidity), f.ts_ns)


def _pnl(fills: list[VenueFill], marks: Mapping[InstrumentId, Decimal]) -> dict[str, Any]:
    """Per instrument and in total, from the deployment's own fills (the account may be
    shared with manual orders and other deployments). Unrealized needs a live mark."""
    book = Portfolio()
    for fill in fills:
        book.apply(fill)
    positions, realized, unrealized, fees = [], Decimal(0), Decimal(0), Decimal(0)
    for key, h in sorted(book.holdings.items()):
        mark = marks.get(InstrumentId.parse(key))
        open_pnl = (mark - h.entry) * h.quantity if mark is not None and h.quantity else None
        positions.append({"instrument": key, "quantity": str(h.quantity),
                          "average_entry": str(h.entry) if h.quantity else None,
                          "realized_pnl": str(h.realized), "fees_paid": str(h.fees),
                          "mark_price": str(mark) if mark is not None else None,
                          "unrealized_pnl": str(open_pnl) if open_pnl is not None else None})
        realized += h.realized
        fees += h.fees
        unrealized += open_pnl or 0
    return {"realized": str(realized), "unrealized": str(unrealized), "fees": str(fees),
            "net": str(realized + unrealized - fees), "positions": positions}
