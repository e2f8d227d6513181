"""Worker processes for backtests.

A process pool (spawned, not forked: the service's event loop, sockets and database pool
must not be copied into a child) bounded by `backtest_workers`. If a worker dies (a
plugin calling `os._exit`, a segfault, the OOM killer) the pool is broken: the run that
was in it fails with that reason and a fresh pool takes the next runs.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from argosy.services.strategy.backtest.worker import execute

__all__ = ["BacktestRunner"]


class BacktestRunner:
    def __init__(self, workers: int, data_dir: str, strategies_dir: str | None) -> None:
        self.workers, self.data_dir, self.strategies_dir = workers, data_dir, strategies_dir
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    async def run(self, request: dict[str, Any],
                  model: tuple[bytes, dict[str, Any]] | None = None) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor(), execute, request,
                                              self.data_dir, self.strategies_dir, model)
        except BrokenProcessPool:
            broken, self._pool = self._pool, None
            if broken is not None:
                broken.shutdown(wait=False, cancel_futures=True)
            return {"summary": {"status": "failed",
                                "error": "the backtest's worker process died"}}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
