"""Strategy use-cases: list strategies, queue and read backtests.

A backtest request is checked completely before it is accepted (strategy known, parameters
in range, instruments recorded, data in the range), so a 202 means the run will start; the
run itself happens in a worker process and its outcome (completed, or failed with the
strategy's error) is read back from GET /backtests/{id}. Each state change is one
transaction; the large series go to the object store first, then the row says completed,
so a completed row always has its objects.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import structlog

from argosy.kernel.errors import NotFound
from argosy.kernel.ids import new_id
from argosy.platform.auth.internal import Principal
from argosy.platform.db.engine import Database
from argosy.platform.objects.base import ObjectStore
from argosy.services.strategy.backtest.data import Catalog, check_range
from argosy.services.strategy.model_loading import model_blob
from argosy.services.strategy.models import BacktestRow
from argosy.services.strategy.models_registry import ModelRegistry
from argosy.services.strategy.plugins import StrategyRegistry
from argosy.services.strategy.runner import BacktestRunner
from argosy.services.strategy.schemas import BacktestRequest
from argosy.services.strategy.store import StrategyStore

__all__ = ["StrategyService"]

log = structlog.get_logger("argosy.strategy")


def _downsample(ts: list[int], values: list[float], points: int
                ) -> tuple[list[int], list[float]]:
    """At most `points` points, always keeping the last (the final equity)."""
    if len(ts) <= points:
        return ts, values
    step = len(ts) / points
    picks = sorted({min(len(ts) - 1, int(k * step)) for k in range(points)} | {len(ts) - 1})
    return [ts[i] for i in picks], [values[i] for i in picks]


class StrategyService:
    def __init__(self, db: Database, store: StrategyStore, objects: ObjectStore,
                 registry: StrategyRegistry, catalog: Catalog, runner: BacktestRunner,
                 *, equity_points: int = 2000) -> None:
        self.db, self.store, self.objects = db, store, objects
        self.registry, self.catalog, self.runner = registry, catalog, runner
        self.equity_points = equity_points
        self._running: set[asyncio.Task[None]] = set()
        self._started_ns = time.time_ns()
        self.models: ModelRegistry | None = None  # for strategies that need a model

    def strategies(self) -> dict[str, Any]:
        return {
            "items": [info.as_dict() for info in self.registry.listing()],
            "errors": [{"source": source, "error": error}
                       for source, error in sorted(self.registry.errors.items())],
            "datasets": [d.describe() for d in self.catalog.datasets],
        }

    async def recover(self) -> None:
        async with self.db.transaction() as s:
            count = await self.store.abandon_unfinished(s, self._started_ns, time.time_ns())
        if count:
            log.warning("backtest.abandoned_at_start", count=count)

    async def create_backtest(self, who: Principal, body: BacktestRequest) -> dict[str, Any]:
        info = self.registry.get(body.strategy)
        spec = body.to_spec(info.cls)
        spec.build()  # parameters: out of range -> Invalid naming it

        def data_in_range() -> None:  # reads the files' ends (a book file: all of it, once)
            for iid in spec.instruments:
                check_range(self.catalog, iid, spec.mode, spec.interval, spec.start_ns,
                            spec.end_ns)

        await asyncio.to_thread(data_in_range)
        if self.models is not None:  # an unknown model is refused now, not in the worker
            await model_blob(info.cls, dict(body.params), self.models, who.subject)
        backtest_id = new_id("bt")
        request = body.model_dump()
        async with self.db.transaction() as s:
            self.store.add(s, BacktestRow(
                id=backtest_id, status="queued", strategy=info.name, request=request,
                fills=0, trades=0, events=0, created_by=who.subject,
                created_ns=time.time_ns()))
        task = asyncio.create_task(self._execute(backtest_id, request),
                                   name=f"backtest:{backtest_id}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return {"id": backtest_id, "status": "queued"}

    async def _execute(self, backtest_id: str, request: dict[str, Any]) -> None:
        async with self.db.transaction() as s:
            row = await self.store.backtest(s, backtest_id)
            assert row is not None
            row.status = "running"
            owner = row.created_by
        try:
            model = None
            if self.models is not None:
                info = self.registry.get(str(request["strategy"]))
                model = await model_blob(info.cls, dict(request["params"]), self.models,
                                         owner)
            out = await self.runner.run(request, model)
        except Exception as exc:  # never let a run's failure escape into the service
            log.error("backtest.crashed", id=backtest_id, exc_info=True)
            out = {"summary": {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}}
        summary = out.pop("summary")
        if summary["status"] == "completed" or out:
            await self.objects.put(f"backtests/{backtest_id}/result.json", orjson.dumps(out),
                                   content_type="application/json")
        async with self.db.transaction() as s:
            row = await self.store.backtest(s, backtest_id)
            assert row is not None
            row.status = summary["status"]
            row.error = summary.get("error")
            row.metrics = summary.get("metrics")
            row.fills = summary.get("fills", 0)
            row.trades = summary.get("trades", 0)
            row.events = summary.get("events", 0)
            row.final_equity = summary.get("final_equity")
            row.fills_digest = summary.get("fills_digest")
            row.elapsed_s = summary.get("elapsed_s")
            row.finished_ns = time.time_ns()
        log.info("backtest.finished", id=backtest_id, status=row.status)

    async def get_backtest(self, backtest_id: str, points: int | None = None,
                           fills: bool = False, owner: str | None = None) -> dict[str, Any]:
        """`owner`: the caller's subject; another caller's backtest reads as missing."""
        async with self.db.read() as s:
            row = await self.store.backtest(s, backtest_id)
        if row is None or (owner is not None and row.created_by != owner):
            raise NotFound(f"no backtest {backtest_id}", field="id")
        doc: dict[str, Any] = {
            "id": row.id, "status": row.status, "strategy": row.strategy,
            "request": row.request, "error": row.error, "metrics": row.metrics,
            "fills_count": row.fills, "trades_count": row.trades, "events": row.events,
            "final_equity": row.final_equity, "fills_digest": row.fills_digest,
            "elapsed_s": row.elapsed_s, "created_ns": row.created_ns,
            "finished_ns": row.finished_ns, "trades": [], "equity": None,
        }
        if row.status in ("completed", "failed") and (row.fills or row.status == "completed"):
            try:
                key = f"backtests/{backtest_id}/result.json"
                stored = orjson.loads(await self.objects.get(key))
            except NotFound:
                return doc
            ts, values = _downsample(stored["equity"]["ts_ns"], stored["equity"]["value"],
                                     points or self.equity_points)
            doc["trades"] = stored["trades"]
            doc["equity"] = {"ts_ns": ts, "value": values,
                             "points": len(stored["equity"]["ts_ns"])}
            if fills:
                doc["fills"] = stored["fills"]
        return doc

    async def list_backtests(self, limit: int,
                             owner: str | None = None) -> list[dict[str, Any]]:
        async with self.db.read() as s:
            rows = await self.store.backtests(s, limit, owner)
        return [{"id": r.id, "status": r.status, "strategy": r.strategy,
                 "final_equity": r.final_equity, "created_ns": r.created_ns} for r in rows]

    async def close(self) -> None:
        for task in list(self._running):
            task.cancel()
        self.runner.close()
