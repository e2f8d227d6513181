"""Parameter search for pure-signal strategies: declared ranges, grid and random candidates,
and the one evaluation every search shares (the vectorized backtest, domain/vectorized.py).

Why here and pure: a trial is "parameters in, metrics out" over read-only bars, so the same
function runs in a worker process, in a walk-forward window and in a test, with no I/O.
Search drivers (process pool, Optuna, storage) live in services/strategy/optimizer*.py.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from argosy.kernel.errors import Invalid
from argosy.services.strategy.domain.indicators import bollinger, ema, rsi, sma
from argosy.services.strategy.domain.indicators._base import FloatArray
from argosy.services.strategy.domain.vectorized import (
    BoolArray,
    FillRule,
    backtest_signals,
    crossover_signals,
    performance,
)

__all__ = [
    "OBJECTIVES",
    "OHLCV",
    "SIGNAL_STRATEGIES",
    "IndicatorCache",
    "Param",
    "SearchSpace",
    "SignalStrategy",
    "evaluate",
    "objective_value",
    "signal_strategy",
]

Params = dict[str, Any]
Direction = Literal["maximize", "minimize"]

#: metrics a search may optimise and which way is better (max_drawdown is a negative
#: fraction, so "maximize" means "closest to zero")
OBJECTIVES: dict[str, Direction] = {
    "sharpe": "maximize", "sortino": "maximize", "calmar": "maximize",
    "total_return": "maximize", "cagr": "maximize", "max_drawdown": "maximize",
    "profit_factor": "maximize", "win_rate": "maximize", "expectancy": "maximize",
    "volatility": "minimize", "turnover": "minimize",
}
_WORST = 1e9  # a non-finite metric (no trades, zero volatility) scores as the worst value


@dataclass(frozen=True)
class OHLCV:
    """Read-only bar columns; float64 arrays of equal length (they may be memmaps)."""

    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __len__(self) -> int:
        return len(self.close)

    def slice(self, start: int, stop: int) -> OHLCV:
        return OHLCV(self.open[start:stop], self.high[start:stop], self.low[start:stop],
                     self.close[start:stop], self.volume[start:stop])


@dataclass(frozen=True)
class Param:
    """A declared, bounded parameter. `step` makes a grid (ints default to 1)."""

    name: str
    kind: Literal["int", "float", "choice"] = "int"
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] = ()
    log: bool = False

    def __post_init__(self) -> None:
        if self.kind == "choice":
            if not self.choices:
                raise Invalid(f"parameter {self.name!r} needs choices", field=self.name)
            return
        if self.low is None or self.high is None or not self.low <= self.high:
            raise Invalid(f"parameter {self.name!r} needs low <= high", field=self.name)
        if self.step is not None and not self.step > 0:
            raise Invalid(f"parameter {self.name!r}: step must be positive", field=self.name)
        if self.log and not self.low > 0:
            raise Invalid(f"parameter {self.name!r}: log scale needs low > 0", field=self.name)

    def grid(self) -> list[Any]:
        if self.kind == "choice":
            return list(self.choices)
        assert self.low is not None
        assert self.high is not None
        if self.kind == "int":
            return list(range(int(self.low), int(self.high) + 1, int(self.step or 1)))
        if self.step is None:
            raise Invalid(f"float parameter {self.name!r} needs a step for a grid",
                          field=self.name)
        count = math.floor((self.high - self.low) / self.step + 1e-9) + 1
        return [round(self.low + i * self.step, 12) for i in range(count)]

    def sample(self, rng: random.Random) -> Any:
        if self.kind == "choice":
            return rng.choice(self.choices)
        if self.step is not None or self.kind == "int":
            return rng.choice(self.grid())
        assert self.low is not None
        assert self.high is not None
        if self.log:
            return math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        return rng.uniform(self.low, self.high)

    def check(self, value: Any) -> Any:
        """The value, or `Invalid` naming this parameter when outside its declared range."""
        if self.kind == "choice":
            if value not in self.choices:
                raise Invalid(f"{self.name}={value!r} is not one of {list(self.choices)}",
                              field=self.name)
            return value
        assert self.low is not None
        assert self.high is not None
        if self.kind == "int" and (isinstance(value, bool) or int(value) != value):
            raise Invalid(f"{self.name} must be an integer, got {value!r}", field=self.name)
        if not self.low <= value <= self.high:
            raise Invalid(f"{self.name}={value} is outside [{self.low}, {self.high}]",
                          field=self.name)
        return int(value) if self.kind == "int" else float(value)


@dataclass(frozen=True)
class SearchSpace:
    """Parameters plus an optional constraint (e.g. fast < slow) that rejects a candidate."""

    params: tuple[Param, ...]
    constraint: Callable[[Params], bool] | None = None

    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def narrowed(self, overrides: Mapping[str, Mapping[str, Any]]) -> SearchSpace:
        """The space with some ranges replaced, each inside the declared one."""
        out = []
        known = {p.name: p for p in self.params}
        for name in overrides:
            if name not in known:
                raise Invalid(f"unknown parameter {name!r}", field=name)
        for p in self.params:
            if p.name not in overrides:
                out.append(p)
                continue
            spec = dict(overrides[p.name])
            q = Param(p.name, p.kind, spec.get("low", p.low), spec.get("high", p.high),
                      spec.get("step", p.step), tuple(spec.get("choices", p.choices)),
                      bool(spec.get("log", p.log)))
            for edge in (q.grid() if q.kind == "choice" else [q.low, q.high]):
                p.check(edge)
            out.append(q)
        return SearchSpace(tuple(out), self.constraint)

    def feasible(self, params: Params) -> bool:
        return self.constraint is None or bool(self.constraint(params))

    def check(self, params: Mapping[str, Any]) -> Params:
        known = {p.name: p for p in self.params}
        for name in params:
            if name not in known:
                raise Invalid(f"unknown parameter {name!r}", field=name)
        out = {p.name: p.check(params[p.name]) for p in self.params if p.name in params}
        if len(out) == len(self.params) and not self.feasible(out):
            raise Invalid(f"parameters {out} violate the strategy's constraint", field="params")
        return out

    def grid(self) -> Iterator[Params]:
        """Every feasible combination, in a fixed order."""
        names = self.names()
        for combo in itertools.product(*(p.grid() for p in self.params)):
            candidate = dict(zip(names, combo, strict=True))
            if self.feasible(candidate):
                yield candidate

    def grid_size(self) -> int:
        return math.prod(len(p.grid()) for p in self.params)

    def sample(self, count: int, seed: int = 0, max_tries: int = 100) -> list[Params]:
        """`count` feasible random candidates (duplicates allowed on a small grid)."""
        rng = random.Random(seed)  # noqa: S311  (reproducible search, not crypto)
        out: list[Params] = []
        tries = 0
        while len(out) < count:
            candidate = {p.name: p.sample(rng) for p in self.params}
            tries += 1
            if self.feasible(candidate):
                out.append(candidate)
                tries = 0
            elif tries > max_tries:
                raise Invalid("the constraint rejects nearly every sample", field="params")
        return out


class IndicatorCache:
    """A bounded LRU of indicator arrays per (name, args) for one bar set, so a worker
    evaluating SMA(10)/SMA(30), SMA(10)/SMA(40)... computes SMA(10) once. Bounded by
    `max_items` entries and by `max_bytes` of arrays, whichever binds first."""

    def __init__(self, max_items: int = 64, max_bytes: int = 64 << 20) -> None:
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._max, self._max_bytes = max_items, max_bytes
        self.bytes = 0
        self.hits = self.misses = 0

    @staticmethod
    def _size(value: Any) -> int:
        if isinstance(value, tuple):
            return sum(int(getattr(v, "nbytes", 0)) for v in value)
        return int(getattr(value, "nbytes", 0))

    def get(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        if key in self._items:
            self._items.move_to_end(key)
            self.hits += 1
            return self._items[key]
        self.misses += 1
        value = compute()
        self._items[key] = value
        self.bytes += self._size(value)
        while len(self._items) > 1 and (len(self._items) > self._max
                                        or self.bytes > self._max_bytes):
            self.bytes -= self._size(self._items.popitem(last=False)[1])
        return value


Signals = Callable[[OHLCV, Params, IndicatorCache | None], tuple[BoolArray, BoolArray]]


@dataclass(frozen=True)
class SignalStrategy:
    """A long/flat strategy that is a pure function of the bars: (entries, exits)."""

    name: str
    space: SearchSpace
    signals: Signals
    description: str = ""
    defaults: Params = field(default_factory=dict)


def _cached(cache: IndicatorCache | None, key: tuple[Any, ...],
            compute: Callable[[], Any]) -> Any:
    return compute() if cache is None else cache.get(key, compute)


def _ma_cross(kind: str) -> Signals:
    fn = sma if kind == "sma" else ema

    def signals(bars: OHLCV, p: Params, cache: IndicatorCache | None) -> tuple[BoolArray,
                                                                                 BoolArray]:
        fast = _cached(cache, (kind, p["fast"]), lambda: fn(bars.close, p["fast"]))
        slow = _cached(cache, (kind, p["slow"]), lambda: fn(bars.close, p["slow"]))
        return crossover_signals(fast, slow)

    return signals


def _rsi_mean_reversion(bars: OHLCV, p: Params,
                        cache: IndicatorCache | None) -> tuple[BoolArray, BoolArray]:
    """As the built-in RsiMeanReversion: buy a close with RSI below `oversold`, sell one
    above `overbought` (levels, not crossings)."""
    r = _cached(cache, ("rsi", p["period"]), lambda: rsi(bars.close, p["period"]))
    with np.errstate(invalid="ignore"):
        return r < p["oversold"], r > p["overbought"]


def _bollinger_breakout(bars: OHLCV, p: Params,
                        cache: IndicatorCache | None) -> tuple[BoolArray, BoolArray]:
    """As the built-in BollingerBreakout: buy a close above the upper band, sell a close
    below the middle band."""
    upper, middle, _ = _cached(cache, ("bb", p["period"], p["width"]),
                               lambda: bollinger(bars.close, p["period"], p["width"],
                                                 p["width"]))
    with np.errstate(invalid="ignore"):
        return bars.close > upper, bars.close < middle


def _fast_below_slow(p: Params) -> bool:
    return bool(p["fast"] < p["slow"])


#: The long-only built-ins as pure signals, under the built-ins' names, parameter names
#: and declared ranges (domain/builtins), so a searched parameter set runs unchanged in
#: the event-driven engine. Floats carry a grid step; int ranges grid by 1.
SIGNAL_STRATEGIES: dict[str, SignalStrategy] = {
    s.name: s for s in (
        SignalStrategy("sma_crossover", SearchSpace((Param("fast", "int", 1, 1000),
                                                     Param("slow", "int", 2, 5000)),
                                                    _fast_below_slow),
                       _ma_cross("sma"), "SMA(fast) crosses SMA(slow)",
                       {"fast": 10, "slow": 30}),
        SignalStrategy("ema_crossover", SearchSpace((Param("fast", "int", 1, 1000),
                                                     Param("slow", "int", 2, 5000)),
                                                    _fast_below_slow),
                       _ma_cross("ema"), "EMA(fast) crosses EMA(slow)",
                       {"fast": 12, "slow": 26}),
        SignalStrategy("rsi_mean_reversion", SearchSpace(
            (Param("period", "int", 2, 500), Param("oversold", "float", 0.0, 100.0, 5.0),
             Param("overbought", "float", 0.0, 100.0, 5.0)),
            lambda p: p["oversold"] < p["overbought"]),
            _rsi_mean_reversion, "buy below oversold RSI, sell above overbought",
            {"period": 14, "oversold": 30.0, "overbought": 70.0}),
        SignalStrategy("bollinger_breakout", SearchSpace(
            (Param("period", "int", 2, 1000), Param("width", "float", 0.1, 10.0, 0.1))),
            _bollinger_breakout, "buy a close above the upper band, sell below the middle",
            {"period": 20, "width": 2.0}),
    )
}


def signal_strategy(name: str) -> SignalStrategy:
    try:
        return SIGNAL_STRATEGIES[name]
    except KeyError:
        raise Invalid(f"unknown signal strategy {name!r}; known: {sorted(SIGNAL_STRATEGIES)}",
                      field="strategy") from None


def evaluate(
    bars: OHLCV, strategy: SignalStrategy, params: Params, *, rule: FillRule | None = None,
    periods_per_year: float = 365 * 24 * 60, cash: float = 100_000.0,
    cache: IndicatorCache | None = None, fast: bool = False,
) -> dict[str, float | int]:
    """The metrics of one parameter set over `bars` (performance.as_dict()); `fast` runs
    the one-pass compiled kernel (domain/optimize_kernel.py), equal to ~1e-12."""
    entries, exits = strategy.signals(bars, params, cache)
    if fast:
        from argosy.services.strategy.domain.optimize_kernel import fast_metrics

        return fast_metrics(bars.open, bars.close, entries, exits, rule=rule or FillRule(),
                            cash=cash, periods_per_year=periods_per_year)
    result = backtest_signals(bars.open, bars.close, entries, exits, cash=cash, rule=rule)
    return performance(result, periods_per_year).as_dict()


def objective_value(metrics: Mapping[str, float | int], name: str) -> float:
    """A finite score for `name`; NaN/inf (e.g. Sharpe of a strategy that never traded)
    becomes the worst value so samplers never see NaN."""
    if name not in OBJECTIVES:
        raise Invalid(f"unknown objective {name!r}; known: {sorted(OBJECTIVES)}",
                      field="objectives")
    value = float(metrics[name])
    if math.isfinite(value):
        return value
    return -_WORST if OBJECTIVES[name] == "maximize" else _WORST


def best_of(trials: Sequence[tuple[Params, Mapping[str, float | int]]],
            objective: str) -> tuple[Params, Mapping[str, float | int]]:
    """The best (params, metrics) for one objective; ties keep the first."""
    if not trials:
        raise Invalid("no trials to choose from", field="trials")
    sign = 1.0 if OBJECTIVES[objective] == "maximize" else -1.0
    return max(trials, key=lambda t: sign * objective_value(t[1], objective))
