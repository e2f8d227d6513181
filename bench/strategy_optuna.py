"""Optimizer trials/s and peak memory for a 1,000-trial study, beside serial baselines.

Real bars: FTX BTC-PERP 1m (45,031 bars, ../shared/data/ohlcv), SMA(fast)/SMA(slow)
crossover, fast in [2, 100], slow in [10, 400], fast < slow, objective Sharpe, 0.1 % fee,
fill at the next open. Each variant runs in a fresh child process so its peak RSS
(ru_maxrss, parent and pool workers separately) is its own:

- argosy-tpe: `run_optimization` with Optuna TPE (ask/tell batches) on the process pool;
- argosy-tpe-1w: the same with --workers 1, which evaluates in-process (no pool);
- argosy-random: the same pool on 1,000 random candidates (no sampler cost);
- argosy-nsga2-mo: multi-objective (Sharpe, max drawdown) with NSGA-II on the pool;
- baseline serial-optuna: `optuna.create_study(TPE).optimize(objective, 1000)` in one
  process, the objective a plain `evaluate` call (no indicator cache): what a user writes
  by hand;
- baseline serial-loop: the same 1,000 random candidates as argosy-random, evaluated one
  after another in one process through `backtest_signals` + `summarize`, no cache;
- serial-fast: the same candidates in one process with the optimizer's per-trial path
  (indicator cache + one-pass kernel) but no pool: separates what the kernel buys from
  what the pool buys (on a machine whose cores are busy the pool can buy little).

    .venv/bin/python -m bench.strategy_optuna [--trials 1000] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "ohlcv" / "ftx_perp_BTC-PERP_1m.csv"
SPACE = {"fast": {"low": 2, "high": 100}, "slow": {"low": 10, "high": 400}}
VARIANTS = ("argosy-tpe", "argosy-tpe-1w", "argosy-random", "argosy-nsga2-mo",
            "serial-optuna", "serial-loop", "serial-fast")


def _child(variant: str, trials: int, workers: int | None) -> dict[str, Any]:
    import optuna

    from argosy.services.strategy.domain.optimize import evaluate, objective_value
    from argosy.services.strategy.optimizer import OptimizeRequest, run_optimization
    from argosy.services.strategy.optimizer_data import load_ohlcv_csv, periods_per_year
    from argosy.services.strategy.optimizer_pool import peak_rss_kb

    bars, times = load_ohlcv_csv(DATA)
    ppy = periods_per_year(times)
    base_rss = peak_rss_kb()
    started = time.perf_counter()
    out: dict[str, Any] = {"variant": variant, "bars": len(bars)}
    if variant.startswith("argosy"):
        method, objectives = {"argosy-tpe": ("tpe", ("sharpe",)),
                              "argosy-tpe-1w": ("tpe", ("sharpe",)),
                              "argosy-random": ("random", ("sharpe",)),
                              "argosy-nsga2-mo": ("nsga2", ("sharpe", "max_drawdown"))}[variant]
        req = OptimizeRequest("sma_crossover", method, objectives,  # type: ignore[arg-type]
                              n_trials=trials, periods_per_year=ppy,
                              workers=1 if variant == "argosy-tpe-1w" else workers,
                              space=SPACE, seed=7)
        result = run_optimization(req, bars)
        out.update(trials=result.trials, workers=result.workers,
                   best=result.best[0].values[0],
                   worker_peak_rss_mb=result.worker_peak_rss_kb / 1024)
    else:
        from argosy.services.strategy.domain.optimize import signal_strategy

        strategy = signal_strategy("sma_crossover")
        space = strategy.space.narrowed(SPACE)
        if variant in ("serial-loop", "serial-fast"):
            from argosy.services.strategy.domain.optimize import IndicatorCache

            fast = variant == "serial-fast"
            cache = IndicatorCache(1 << 20, 64 << 20) if fast else None
            candidates = space.sample(trials, seed=7)
            scores = [objective_value(evaluate(bars, strategy, p, periods_per_year=ppy,
                                               cache=cache, fast=fast), "sharpe")
                      for p in candidates]
            out.update(trials=len(scores), best=max(scores))
        else:
            optuna.logging.set_verbosity(optuna.logging.WARNING)

            def objective(trial: optuna.Trial) -> float:
                p = {"fast": trial.suggest_int("fast", 2, 100),
                     "slow": trial.suggest_int("slow", 10, 400)}
                if p["fast"] >= p["slow"]:
                    return -1e9
                return objective_value(evaluate(bars, strategy, p, periods_per_year=ppy),
                                       "sharpe")

            study = optuna.create_study(direction="maximize",
                                        sampler=optuna.samplers.TPESampler(seed=7))
            study.optimize(objective, n_trials=trials)
            out.update(trials=len(study.trials), best=study.best_value)
        out["workers"] = 1
        out["worker_peak_rss_mb"] = 0.0
    elapsed = time.perf_counter() - started
    peak = peak_rss_kb()
    out.update(seconds=elapsed, trials_per_s=out["trials"] / elapsed,
               parent_peak_rss_mb=peak / 1024, parent_rss_before_mb=base_rss / 1024)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--child", choices=VARIANTS)
    parser.add_argument("--only", nargs="*", choices=VARIANTS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.trials, args.workers)))
        return 0
    if not DATA.is_file():
        print(f"skipped: {DATA} not found")
        return 0
    rows = []
    for variant in args.only or VARIANTS:
        cmd = [sys.executable, "-m", "bench.strategy_optuna", "--child", variant,
               "--trials", str(args.trials)]
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False,
                              env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}"})
        if proc.returncode:
            print(f"{variant}: failed\n{proc.stderr[-2000:]}")
            return 1
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        total = r["parent_peak_rss_mb"] + r["workers"] * r["worker_peak_rss_mb"] * (
            r["variant"].startswith("argosy"))
        print(f"{variant:16s} trials={r['trials']:5d} workers={r['workers']} "
              f"{r['seconds']:7.2f}s {r['trials_per_s']:8.1f} trials/s  "
              f"peak RSS parent {r['parent_peak_rss_mb']:6.1f} MB, largest worker "
              f"{r['worker_peak_rss_mb']:6.1f} MB, total <= {total:6.1f} MB  "
              f"best sharpe {r['best']:.3f}",
              flush=True)
    by = {r["variant"]: r for r in rows}
    for a, b in (("argosy-tpe", "serial-optuna"), ("argosy-tpe-1w", "serial-optuna"),
                 ("argosy-random", "serial-loop"),
                 ("serial-fast", "serial-loop"), ("argosy-random", "serial-fast")):
        if a in by and b in by:
            print(f"{a} / {b}: {by[a]['trials_per_s'] / by[b]['trials_per_s']:.2f}x trials/s")
    print(f"cores available: {len(os.sched_getaffinity(0))}, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} (other jobs share them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
