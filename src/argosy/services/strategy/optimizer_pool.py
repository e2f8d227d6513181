"""The worker pool that evaluates trials: a fixed number of processes over bars shared
read-only through one memory-mapped .npy file.

Why this shape: a parameter search must not eat the machine. The worker count is fixed
(default: every core), each worker maps the same file instead of receiving a copy of the
bars, keeps a bounded indicator cache, and receives parameter chunks with at most two
chunks in flight per worker, so memory is O(workers x (bars + cache)) whatever the
number of trials. Workers are spawned, not forked, so a pool started inside the service's
event loop inherits no sockets, threads or locks; and spawned "lean": a plain spawn
re-imports the caller's `__main__` in every worker, which for the `argosy` command means
every command and service (~180 MB of RSS per worker against ~75 MB without). The
worker code lives in this module, so nothing from `__main__` is needed.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
import resource
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import popen_spawn_posix, spawn
from pathlib import Path
from typing import Any

import numpy as np

from argosy.services.strategy.domain.optimize import (
    OHLCV,
    IndicatorCache,
    Params,
    SignalStrategy,
    evaluate,
    signal_strategy,
)
from argosy.services.strategy.domain.vectorized import FillRule

__all__ = ["EvalPool", "SharedBars", "peak_rss_kb"]

Metrics = dict[str, float | int]


def peak_rss_kb() -> int:
    """This process's peak resident set size in KiB: VmHWM of its current image on Linux.
    Not ru_maxrss: a spawned worker inherits its forking parent's high-water mark through
    exec, which would report the parent's size as the worker's."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


class SharedBars:
    """The bars written once as a (5, n) float64 .npy file that every worker maps
    read-only; the OS page cache holds one copy for all of them."""

    def __init__(self, bars: OHLCV, directory: Path | None = None) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="argosy-opt-", dir=directory))
        self.path = self._dir / "bars.npy"
        stacked = np.stack([np.asarray(c, dtype=np.float64) for c in
                            (bars.open, bars.high, bars.low, bars.close, bars.volume)])
        np.save(self.path, stacked)
        self.length = len(bars)

    @staticmethod
    def load(path: Path | str) -> OHLCV:
        arr = np.load(path, mmap_mode="r")
        return OHLCV(*(arr[i] for i in range(5)))

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> SharedBars:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class _WorkerState:
    bars: OHLCV
    strategy: SignalStrategy
    rule: FillRule
    periods_per_year: float
    cache: IndicatorCache
    slices: dict[tuple[int, int], tuple[OHLCV, IndicatorCache]]


_STATE: _WorkerState | None = None


def _new_state(path: str, strategy: str, rule: tuple[float, float, str],
               periods_per_year: float, cache_mb: int) -> _WorkerState:
    fee, slippage, fill_at = rule
    return _WorkerState(SharedBars.load(path), signal_strategy(strategy),
                        FillRule(fee, slippage, fill_at),  # type: ignore[arg-type]
                        periods_per_year, IndicatorCache(1 << 20, cache_mb << 20), {})


def _init_worker(*args: Any) -> None:
    global _STATE
    _STATE = _new_state(*args)


def evaluate_chunk(span: tuple[int, int] | None,
                   chunk: Sequence[Params]) -> tuple[list[Metrics], int]:
    """Run in a worker: metrics of each parameter set over bars[span], and the worker's
    peak RSS so the parent can report the pool's real footprint."""
    assert _STATE is not None, "worker not initialised"
    return _evaluate(_STATE, span, chunk), peak_rss_kb()


def _evaluate(state: _WorkerState, span: tuple[int, int] | None,
              chunk: Sequence[Params]) -> list[Metrics]:
    if span is None:
        bars, cache = state.bars, state.cache
    else:
        if span not in state.slices:
            state.slices.clear()  # one window at a time: bounded
            state.slices[span] = (state.bars.slice(*span), IndicatorCache(256, 16 << 20))
        bars, cache = state.slices[span]
    return [evaluate(bars, state.strategy, p, rule=state.rule,
                     periods_per_year=state.periods_per_year, cache=cache, fast=True)
            for p in chunk]


_ORIGINAL_PREPARATION = spawn.get_preparation_data
_LAUNCH = threading.Lock()


def _without_main(name: str) -> dict[str, Any]:
    data = _ORIGINAL_PREPARATION(name)
    data.pop("init_main_from_path", None)
    data.pop("init_main_from_name", None)
    return data


class _LeanPopen(popen_spawn_posix.Popen):
    """A spawn that does not ask the child to import the parent's `__main__`."""

    def _launch(self, process_obj: Any) -> None:
        with _LAUNCH:
            spawn.get_preparation_data = _without_main
            try:
                super()._launch(process_obj)  # type: ignore[misc]
            finally:
                spawn.get_preparation_data = _ORIGINAL_PREPARATION


class _LeanProcess(multiprocessing.context.SpawnProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> Any:  # noqa: N802  (multiprocessing's name)
        return _LeanPopen(process_obj)


class _LeanContext(multiprocessing.context.SpawnContext):
    Process = _LeanProcess


def _context() -> multiprocessing.context.BaseContext:
    if sys.platform == "win32":
        return multiprocessing.get_context("spawn")
    return _LeanContext()


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


class EvalPool:
    """`workers` processes evaluating parameter chunks; see the module docstring."""

    def __init__(self, shared: SharedBars, strategy: str, rule: FillRule, *,
                 periods_per_year: float, workers: int | None = None,
                 cache_mb: int = 64) -> None:
        self.workers = max(1, workers or default_workers())
        self.worker_peak_rss_kb = 0
        args = (str(shared.path), strategy, (rule.fee, rule.slippage, rule.fill_at),
                periods_per_year, cache_mb)
        # one worker: evaluate here, no process to start (~1 s) and no second copy of
        # numba and the cache; the bars are still the read-only map
        self._local = _new_state(*args) if self.workers == 1 else None
        self._pool = None if self._local else ProcessPoolExecutor(
            max_workers=self.workers, mp_context=_context(), initializer=_init_worker,
            initargs=args)

    def map_chunks(self, chunks: Iterable[Sequence[Params]], *,
                   span: tuple[int, int] | None = None,
                   ) -> Iterator[tuple[Sequence[Params], list[Metrics]]]:
        """Results per chunk as they finish (not in order), with at most 2 x workers
        chunks in flight so a million-candidate grid never sits in memory at once."""
        if self._local is not None:
            for params in chunks:
                yield params, _evaluate(self._local, span, params)
            return
        assert self._pool is not None
        pending: dict[Future[tuple[list[Metrics], int]], Sequence[Params]] = {}
        source = iter(chunks)
        limit = 2 * self.workers
        exhausted = False
        while pending or not exhausted:
            while not exhausted and len(pending) < limit:
                chunk = next(source, None)
                if chunk is None:
                    exhausted = True
                    break
                pending[self._pool.submit(evaluate_chunk, span, list(chunk))] = chunk
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                chunk = pending.pop(future)
                metrics, rss = future.result()
                self.worker_peak_rss_kb = max(self.worker_peak_rss_kb, rss)
                yield chunk, metrics

    def evaluate_many(self, start: int, stop: int,
                      candidates: Sequence[Params]) -> list[Metrics]:
        """Metrics in input order over bars[start:stop] (the walk-forward's EvaluateMany)."""
        size = max(1, len(candidates) // (self.workers * 4))
        chunks = [list(candidates[i:i + size]) for i in range(0, len(candidates), size)]
        first = {id(c): i * size for i, c in enumerate(chunks)}
        out: list[Metrics] = [{} for _ in candidates]
        for chunk, metrics in self.map_chunks(chunks, span=(start, stop)):
            base = first[id(chunk)]
            out[base:base + len(metrics)] = metrics
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> EvalPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def chunked(items: Iterable[Params], size: int) -> Iterator[list[Params]]:
    batch: list[Params] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


Progress = Callable[[int, int], Any]
