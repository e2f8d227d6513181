"""Runs a parameter search: grid, random, Optuna TPE, or multi-objective (TPE or NSGA-II),
trials evaluated by the process pool (optimizer_pool.py) on the vectorized path.

Optuna is driven by ask/tell from this process: it asks a batch of trials (one chunk per
worker, the TPE sampler lying "constant liar" values for the ones still running), the pool
evaluates them, and the results are told back. With a shared storage (Optuna's RDBStorage
on PostgreSQL, see optimizer_storage.py) several processes or machines asking from the same
study each see every trial the others finished, so the search is one study however it is
spread.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import optuna

from argosy.kernel.errors import Invalid
from argosy.services.strategy.domain.optimize import (
    OBJECTIVES,
    OHLCV,
    Param,
    Params,
    SearchSpace,
    objective_value,
    signal_strategy,
)
from argosy.services.strategy.domain.vectorized import FillRule
from argosy.services.strategy.domain.walkforward import finite_or_none, walk_forward
from argosy.services.strategy.optimizer_pool import EvalPool, SharedBars, chunked, peak_rss_kb
from argosy.services.strategy.optimizer_storage import close_storage, open_storage

__all__ = [
    "OptimizeRequest",
    "OptimizeResult",
    "TrialRecord",
    "pareto_front",
    "result_document",
    "run_optimization",
]

Method = Literal["grid", "random", "tpe", "nsga2"]
Metrics = dict[str, float | int]
Progress = Callable[[int, int], Any]


@dataclass(frozen=True)
class OptimizeRequest:
    strategy: str
    method: Method = "tpe"
    objectives: tuple[str, ...] = ("sharpe",)
    n_trials: int = 100
    seed: int = 0
    space: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # narrowed ranges
    rule: FillRule = field(default_factory=FillRule)
    periods_per_year: float = 365 * 24 * 60
    workers: int | None = None
    chunk: int = 8  # trials per task sent to a worker
    cache_mb: int = 64  # indicator cache per worker (the RSS bound's tunable part)
    storage: str | None = None  # Optuna storage URL; None = in memory
    study_name: str | None = None
    walk_forward: Mapping[str, Any] | None = None  # {"train", "test", "step", "anchored"}
    keep_top: int = 20

    def validate(self) -> SearchSpace:
        strategy = signal_strategy(self.strategy)
        if self.method not in ("grid", "random", "tpe", "nsga2"):
            raise Invalid(f"unknown method {self.method!r}", field="method")
        if not self.objectives:
            raise Invalid("at least one objective", field="objectives")
        for name in self.objectives:
            if name not in OBJECTIVES:
                raise Invalid(f"unknown objective {name!r}; known: {sorted(OBJECTIVES)}",
                              field="objectives")
        if not 1 <= self.n_trials <= 1_000_000:
            raise Invalid("n_trials must be in [1, 1000000]", field="n_trials")
        space = strategy.space.narrowed(self.space)
        if self.method == "grid" and space.grid_size() > 10_000_000:
            raise Invalid(f"the grid has {space.grid_size()} points; narrow the ranges or "
                          "use random or tpe", field="space")
        return space


@dataclass(frozen=True)
class TrialRecord:
    number: int
    params: Params
    values: tuple[float, ...]
    metrics: Metrics


@dataclass
class OptimizeResult:
    request: OptimizeRequest
    trials: int
    best: list[TrialRecord]  # one trial, or the Pareto front for several objectives
    top: list[TrialRecord]
    elapsed_s: float
    workers: int
    peak_rss_kb: int
    worker_peak_rss_kb: int
    walk_forward: dict[str, Any] | None = None
    search_s: float = 0.0  # the search alone (pool start included, walk-forward not)

    @property
    def trials_per_s(self) -> float:
        spent = self.search_s or self.elapsed_s
        return self.trials / spent if spent > 0 else math.inf


def _values(metrics: Metrics, objectives: Sequence[str]) -> tuple[float, ...]:
    return tuple(objective_value(metrics, o) for o in objectives)


def _signs(objectives: Sequence[str]) -> tuple[float, ...]:
    return tuple(1.0 if OBJECTIVES[o] == "maximize" else -1.0 for o in objectives)


def pareto_front(records: Sequence[TrialRecord], objectives: Sequence[str]) -> list[TrialRecord]:
    """Trials no other trial beats on every objective (ties by number)."""
    signs = _signs(objectives)
    scored = [(tuple(s * v for s, v in zip(signs, r.values, strict=True)), r) for r in records]
    front = []
    for key, record in scored:
        dominated = any(all(o >= k for o, k in zip(other, key, strict=True)) and other != key
                        for other, _ in scored)
        if not dominated:
            front.append(record)
    return sorted(front, key=lambda r: r.number)


class _Collector:
    """Keeps the top-k trials by the first objective and every non-dominated one, so memory
    does not grow with the number of trials."""

    def __init__(self, objectives: Sequence[str], keep: int) -> None:
        self.objectives, self.keep = list(objectives), keep
        self.top: list[TrialRecord] = []
        self.front: list[TrialRecord] = []
        self.count = 0
        self._sign = _signs(objectives)[0]

    def add(self, record: TrialRecord) -> None:
        self.count += 1
        self.top.append(record)
        self.top.sort(key=lambda r: -self._sign * r.values[0])
        del self.top[self.keep:]
        if len(self.objectives) > 1:
            self.front = pareto_front([*self.front, record], self.objectives)

    def best(self) -> list[TrialRecord]:
        if len(self.objectives) > 1:
            return self.front
        return self.top[:1]


def _suggest(trial: optuna.Trial, p: Param) -> Any:
    if p.kind == "choice":
        return trial.suggest_categorical(p.name, list(p.choices))
    assert p.low is not None
    assert p.high is not None
    if p.kind == "int":
        return trial.suggest_int(p.name, int(p.low), int(p.high), step=int(p.step or 1),
                                 log=p.log and not p.step)
    return trial.suggest_float(p.name, p.low, p.high, step=p.step, log=p.log and not p.step)


def _sampler(method: Method, seed: int, objectives: int) -> optuna.samplers.BaseSampler:
    if method == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, constant_liar=True,
                                      multivariate=objectives == 1, n_startup_trials=20)


def open_study(req: OptimizeRequest,
               storage: optuna.storages.BaseStorage | None = None) -> optuna.Study:
    """Create or join the request's study. With a storage, load_if_exists makes every
    process that names the study join it (two racing to create it: Optuna loads the one
    that won), which is how several machines share one search."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(
        storage=storage, study_name=req.study_name, load_if_exists=storage is not None,
        sampler=_sampler(req.method, req.seed, len(req.objectives)),
        directions=[OBJECTIVES[o] for o in req.objectives],
    )


def _run_optuna(req: OptimizeRequest, space: SearchSpace, pool: EvalPool,
                keep: _Collector, progress: Progress | None) -> None:
    """Pipelined ask/tell: chunks are asked lazily as the pool has room (2 per worker in
    flight), so the sampler works while the workers evaluate, and each result is told as
    soon as its chunk returns. `n_trials` counts this process's trials; with a shared
    storage every process adds its own."""
    storage = open_storage(req.storage) if req.storage else None
    try:
        _ask_tell(open_study(req, storage), req, space, pool, keep, progress)
    finally:
        close_storage(storage)


def _ask_tell(study: optuna.Study, req: OptimizeRequest, space: SearchSpace, pool: EvalPool,
              keep: _Collector, progress: Progress | None) -> None:
    worst = [objective_value({o: math.nan}, o) for o in req.objectives]
    origin = f"{socket.gethostname()}:{os.getpid()}"
    in_flight: dict[int, list[tuple[optuna.Trial, Params]]] = {}
    asked = 0

    def chunks() -> Iterator[list[Params]]:
        nonlocal asked
        while asked < req.n_trials:
            pairs: list[tuple[optuna.Trial, Params]] = []
            while len(pairs) < req.chunk and asked < req.n_trials:
                trial = study.ask()
                asked += 1
                trial.set_user_attr("worker", origin)
                params = {p.name: _suggest(trial, p) for p in space.params}
                if space.feasible(params):
                    pairs.append((trial, params))
                else:  # infeasible: the worst score teaches the sampler to avoid it
                    study.tell(trial, worst)
                    keep.count += 1
            if pairs:
                chunk = [params for _, params in pairs]
                in_flight[id(chunk)] = pairs
                yield chunk

    try:
        for chunk, metrics in pool.map_chunks(chunks()):
            for (trial, params), m in zip(in_flight.pop(id(chunk)), metrics, strict=True):
                values = _values(m, req.objectives)
                study.tell(trial, list(values))
                keep.add(TrialRecord(trial.number, params, values, m))
            if progress:
                progress(keep.count, req.n_trials)
    except BaseException:
        # asked but never told: in a shared study they would stay RUNNING for good, and
        # the other machines' constant-liar samplers would keep avoiding their params
        for pairs in in_flight.values():
            for trial, _ in pairs:
                with contextlib.suppress(Exception):  # the original error matters more
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
        raise
    if progress:
        progress(keep.count, req.n_trials)


def _evaluate_all(pool: EvalPool, candidates: Any, total: int, req: OptimizeRequest,
                  keep: _Collector, progress: Progress | None) -> None:
    number = 0
    for chunk, metrics in pool.map_chunks(chunked(candidates, req.chunk)):
        for params, m in zip(chunk, metrics, strict=True):
            keep.add(TrialRecord(number, params, _values(m, req.objectives), m))
            number += 1
        if progress:
            progress(keep.count, total)


def run_optimization(req: OptimizeRequest, bars: OHLCV, *,
                     progress: Progress | None = None) -> OptimizeResult:
    """The whole search, blocking; call it from a thread or a CLI, never the event loop."""
    space = req.validate()
    if len(bars) < 3:
        raise Invalid("the bar range holds fewer than 3 bars", field="bars")
    keep = _Collector(req.objectives, req.keep_top)
    started = time.perf_counter()
    with SharedBars(bars) as shared, EvalPool(
        shared, req.strategy, req.rule, periods_per_year=req.periods_per_year,
        workers=req.workers, cache_mb=req.cache_mb,
    ) as pool:
        if req.method == "grid":
            total = sum(1 for _ in itertools.islice(space.grid(), req.n_trials))
            _evaluate_all(pool, itertools.islice(space.grid(), req.n_trials), total, req,
                          keep, progress)
        elif req.method == "random":
            _evaluate_all(pool, space.sample(req.n_trials, req.seed), req.n_trials, req,
                          keep, progress)
        else:
            _run_optuna(req, space, pool, keep, progress)
        search_s = time.perf_counter() - started
        report = None
        if req.walk_forward:
            report = _walk_forward(req, bars, pool, [r.params for r in keep.top]).as_dict()
        workers = pool.workers
    return OptimizeResult(req, keep.count, keep.best(), list(keep.top),
                          time.perf_counter() - started, workers, peak_rss_kb(),
                          pool.worker_peak_rss_kb, report, search_s)


def _walk_forward(req: OptimizeRequest, bars: OHLCV, pool: EvalPool,
                  candidates: list[Params]) -> Any:
    """Walk-forward over the search's top candidates: each IS window picks among them."""
    spec = dict(req.walk_forward or {})
    unknown = set(spec) - {"train", "test", "step", "anchored"}
    if unknown:
        raise Invalid(f"unknown walk_forward keys {sorted(unknown)}", field="walk_forward")
    if "train" not in spec or "test" not in spec:
        raise Invalid("walk_forward needs train and test (bars)", field="walk_forward")
    return walk_forward(
        bars, signal_strategy(req.strategy), candidates, train=int(spec["train"]),
        test=int(spec["test"]), step=spec.get("step"), anchored=bool(spec.get("anchored")),
        objective=req.objectives[0], rule=req.rule, periods_per_year=req.periods_per_year,
        evaluate_many=pool.evaluate_many,
    )


def _trial(r: TrialRecord) -> dict[str, Any]:
    return {"number": r.number, "params": r.params, "values": list(r.values),
            "metrics": {k: finite_or_none(v) for k, v in r.metrics.items()}}


def result_document(result: OptimizeResult) -> dict[str, Any]:
    return {
        "trials": result.trials, "best": [_trial(r) for r in result.best],
        "top": [_trial(r) for r in result.top], "walk_forward": result.walk_forward,
        "trials_per_s": result.trials_per_s, "workers": result.workers,
        "peak_rss_kb": result.peak_rss_kb, "worker_peak_rss_kb": result.worker_peak_rss_kb,
    }
