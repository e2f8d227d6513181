"""Optimization use-cases: accept a search, run it off the event loop, report progress.

A request is checked completely before it is accepted (strategy, objectives, ranges
inside the declared ones, dataset present, bars in the range), so a 202 means the search
will start. Searches run one at a time (a semaphore): each already uses every core the
pool is given, and two would only fight for them. Progress is kept in memory and written
to the row every few seconds, so GET shows it without a write per trial.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import structlog

from argosy.kernel.errors import NotFound
from argosy.kernel.ids import new_id
from argosy.platform.auth.internal import Principal
from argosy.platform.db.engine import Database
from argosy.services.strategy.optimizer import result_document, run_optimization
from argosy.services.strategy.optimizer_data import (
    dataset_path,
    load_ohlcv_csv,
    periods_per_year,
)
from argosy.services.strategy.schemas_opt import OptimizationRequest
from argosy.services.strategy.store_opt import OptimizationRow, OptimizationStore

__all__ = ["OptimizationService"]

log = structlog.get_logger("argosy.strategy.optimizer")


class OptimizationService:
    def __init__(self, db: Database, store: OptimizationStore, data_dir: Path, *,
                 workers: int | None = None, storage: str | None = None,
                 flush_every_s: float = 2.0) -> None:
        self.db, self.store, self.data_dir = db, store, data_dir
        self.workers, self.storage, self.flush_every_s = workers, storage, flush_every_s
        self._gate = asyncio.Semaphore(1)
        self._progress: dict[str, int] = {}
        self._running: set[asyncio.Task[None]] = set()

    async def recover(self) -> None:
        async with self.db.transaction() as s:
            count = await self.store.abandon_unfinished(s, time.time_ns())
        if count:
            log.warning("optimization.abandoned_at_start", count=count)

    async def create(self, who: Principal, body: OptimizationRequest) -> dict[str, Any]:
        path = dataset_path(self.data_dir, body.dataset)
        bars, times = await asyncio.to_thread(load_ohlcv_csv, path, body.start_ms, body.end_ms)
        req = body.to_request(periods_per_year(times), self.workers, self.storage)
        req.validate()  # unknown strategy / objective, range outside the declared -> 422
        oid = new_id("opt")
        async with self.db.transaction() as s:
            self.store.add(s, OptimizationRow(
                id=oid, status="queued", strategy=body.strategy, method=body.method,
                request=body.model_dump(), trials_done=0, trials_total=body.n_trials,
                created_by=who.subject, created_ns=time.time_ns()))
        task = asyncio.create_task(self._execute(oid, req, bars), name=f"optimization:{oid}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return {"id": oid, "status": "queued"}

    async def _set(self, oid: str, **values: Any) -> None:
        async with self.db.transaction() as s:
            row = await self.store.get(s, oid)
            assert row is not None
            for key, value in values.items():
                setattr(row, key, value)

    async def _execute(self, oid: str, req: Any, bars: Any) -> None:
        async with self._gate:
            await self._set(oid, status="running")
            self._progress[oid] = 0
            flusher = asyncio.create_task(self._flush_progress(oid))
            started = time.perf_counter()
            try:
                result = await asyncio.to_thread(
                    run_optimization, req, bars,
                    progress=lambda done, _total: self._progress.__setitem__(oid, done))
            except Exception as exc:  # a failed search is reported, never crashes the service
                log.error("optimization.failed", id=oid, exc_info=True)
                flusher.cancel()
                await self._set(oid, status="failed", error=f"{type(exc).__name__}: {exc}",
                                elapsed_s=time.perf_counter() - started,
                                finished_ns=time.time_ns())
                return
            finally:
                self._progress.pop(oid, None)
            flusher.cancel()
            await self._set(oid, status="completed", trials_done=result.trials,
                            result=result_document(result), elapsed_s=result.elapsed_s,
                            finished_ns=time.time_ns())
            log.info("optimization.completed", id=oid, trials=result.trials,
                     trials_per_s=round(result.trials_per_s, 1))

    async def _flush_progress(self, oid: str) -> None:
        while True:
            await asyncio.sleep(self.flush_every_s)
            if oid in self._progress:
                await self._set(oid, trials_done=self._progress[oid])

    async def get(self, oid: str, owner: str | None = None) -> dict[str, Any]:
        """`owner`: the caller's subject; another caller's search reads as missing."""
        async with self.db.read() as s:
            row = await self.store.get(s, oid)
            if row is None or (owner is not None and row.created_by != owner):
                raise NotFound(f"optimization {oid!r} not found", field="id")
            return self._document(row)

    async def recent(self, limit: int, owner: str | None = None) -> list[dict[str, Any]]:
        async with self.db.read() as s:
            rows = await self.store.recent(s, limit, owner)
            return [{k: v for k, v in self._document(r).items() if k != "result"}
                    for r in rows]

    def _document(self, row: OptimizationRow) -> dict[str, Any]:
        done = self._progress.get(row.id, row.trials_done)
        return {"id": row.id, "status": row.status, "strategy": row.strategy,
                "method": row.method, "request": row.request,
                "progress": {"done": done, "total": row.trials_total},
                "result": row.result, "error": row.error, "elapsed_s": row.elapsed_s,
                "created_by": row.created_by, "created_ns": row.created_ns,
                "finished_ns": row.finished_ns}

    async def close(self) -> None:
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
