"""SMA(10)/SMA(30) crossover backtest speed, Argosy's vectorized path beside the peers.

Same real bars as ../shared/bench-peers (the largest kline file in ../shared/data/ohlcv:
FTX BTC-PERP 1m, 45,031 bars), same strategy and fill rule (signal on bar t's close,
market fill at t+1's open, all-in, 0.1 % fee on both sides, 100k cash). The peers run in
this same process tree, from their own virtualenv (../shared/bench-peers/setup.sh), each
with its own script and repetitions; a peer that is not installed is reported, not
faked. NautilusTrader fills at the signal bar's close (see bench-peers/RESULTS.md), so
its numbers are compared with Argosy run under that rule (`fill_at="close"`).

Measured for Argosy:
- bars/s of `sma_crossover` (SMA, signals, fills, trades, equity) from in-memory arrays,
  median of --runs repetitions, CSV load excluded (as for the peers); measured before and
  again after the peers (both shown: other jobs share the host);
- first call in a fresh process (import + first run), the cost a screening job pays;
- for the numba indicator kernels (not used by this path): first call with an empty
  numba cache (compile) and with the on-disk cache warm.

Event-driven engine (added with the backtester): the same SMA(10)/SMA(30) strategy as a
`Strategy` subclass driven bar by bar through the paper venue's matching (Decimal money,
SimClock), bars/s of `run_backtest` over bars parsed once (CSV parsing excluded, as for
the peers), median of --event-runs; its final equity and trades are checked against the
vectorized path (next-open rule) in the same run.

    .venv/bin/python -m bench.strategy_backtest [--runs 30] [--peer-runs 5] [--no-peers]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from argosy.services.strategy.domain.vectorized import FillRule, sma_crossover

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PEERS = SHARED / "bench-peers"
PEER_PY = Path(os.environ.get("PEER_VENV", Path.home() / ".cache" / "argosy-peer-bench")) \
    / "bin" / "python"
PEER_SCRIPTS = {  # name -> (script, Argosy fill rule it is compared with)
    "vectorbt": ("sma_cross_vectorbt.py", "next_open"),
    "nautilus_trader": ("sma_cross_nautilus.py", "close"),
    "backtrader": ("sma_cross_backtrader.py", "next_open"),
}
MATCH_RTOL = 1e-6  # equity printed by peers to full float; nautilus floors qty at 1e-12


def largest_csv() -> Path:
    files = sorted((SHARED / "data" / "ohlcv").glob("*.csv"), key=lambda p: p.stat().st_size)
    if not files:
        raise SystemExit(f"no kline CSV under {SHARED / 'data' / 'ohlcv'}")
    return files[-1]


def load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    data = np.loadtxt(path, delimiter=",", skiprows=1, usecols=(1, 4))
    return np.ascontiguousarray(data[:, 0]), np.ascontiguousarray(data[:, 1])


_FIRST_CALL = """
import json, sys, time
t0 = time.perf_counter()
import numpy as np
t1 = time.perf_counter()
from argosy.services.strategy.domain.vectorized import sma_crossover
t2 = time.perf_counter()
data = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1, usecols=(1, 4))
o, c = np.ascontiguousarray(data[:, 0]), np.ascontiguousarray(data[:, 1])
t3 = time.perf_counter()
r = sma_crossover(o, c, 10, 30)
t4 = time.perf_counter()
r = sma_crossover(o, c, 10, 30)
t5 = time.perf_counter()
print(json.dumps({"numpy_import_s": t1 - t0, "argosy_import_s": t2 - t1,
                  "first_call_s": t4 - t3, "second_call_s": t5 - t4,
                  "numba_loaded": "numba" in sys.modules}))
"""

_KERNELS = """
import json, sys, time
import numpy as np
data = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1, usecols=(2, 3, 4, 5))
h, l, c, v = (np.ascontiguousarray(data[:, i]) for i in range(4))
from argosy.services.strategy.domain import indicators as ind
s = time.perf_counter(); import numba; numba_import = time.perf_counter() - s
calls = {"ema": lambda: ind.ema(c, 30), "rsi": lambda: ind.rsi(c, 14),
         "atr": lambda: ind.atr(h, l, c, 14), "adx": lambda: ind.adx(h, l, c, 14),
         "bollinger": lambda: ind.bollinger(c, 20), "cci": lambda: ind.cci(h, l, c, 14),
         "mfi": lambda: ind.mfi(h, l, c, v, 14), "supertrend": lambda: ind.supertrend(h, l, c)}
out = {"numba_import": numba_import}
t = time.perf_counter()
for name, call in calls.items():
    s = time.perf_counter(); call(); out[name] = time.perf_counter() - s
out["total_s"] = time.perf_counter() - t
print(json.dumps(out))
"""


def fresh_process(code: str, csv: Path, cache_dir: str) -> dict[str, Any]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONPATH=str(ROOT / "src"))
    done = subprocess.run([sys.executable, "-c", code, str(csv)], env=env, check=True,
                          capture_output=True, text=True, timeout=600)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def bench_argosy(open_: np.ndarray, close: np.ndarray, runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fill_at in ("next_open", "close"):
        rule = FillRule(fee=0.001, fill_at=fill_at)
        times = []
        result = sma_crossover(open_, close, 10, 30, rule=rule)
        for _ in range(runs):
            start = time.perf_counter()
            result = sma_crossover(open_, close, 10, 30, rule=rule)
            _ = (result.final_equity, len(result.trades), result.orders)
            times.append(time.perf_counter() - start)
        out[fill_at] = {
            "bars_per_s": {"median": len(close) / statistics.median(times),
                           "min": len(close) / max(times), "max": len(close) / min(times)},
            "final_equity": result.final_equity, "trades": len(result.trades),
            "orders": result.orders,
        }
    return out


def bench_event_driven(csv: Path, runs: int, reference: dict[str, Any]) -> dict[str, Any]:
    """The event-driven engine on the same bars; `reference` is the vectorized next-open
    row it must reproduce (trades, orders, final equity to 1e-9 relative)."""
    from argosy.kernel.instruments import InstrumentId
    from argosy.kernel.messages import Interval
    from argosy.services.strategy.backtest import BacktestSpec, Dataset, Feed, run_backtest
    from argosy.services.strategy.backtest.data import instrument_for, read_bars
    from argosy.services.strategy.domain.builtins import SmaCrossover

    iid = InstrumentId.parse("BTC-USD.ftx")
    dataset = Dataset(iid, "bar", Interval.M1, csv)
    start = time.perf_counter()
    feed = Feed({iid: instrument_for(dataset, iid)}, read_bars(dataset, iid), [])
    parse_s = time.perf_counter() - start
    spec = BacktestSpec(SmaCrossover, (iid,), {"fast": 10, "slow": 30})
    times, result = [], None
    for _ in range(runs):
        result = run_backtest(spec, feed)
        times.append(result.elapsed_s)
    assert result is not None
    equity = float(result.final_equity)
    same = (len(result.trips), len(result.fills)) == (reference["trades"], reference["orders"]) \
        and abs(equity - reference["final_equity"]) <= 1e-9 * abs(reference["final_equity"])
    n = len(feed)
    return {"bars_per_s": {"median": n / statistics.median(times), "min": n / max(times),
                           "max": n / min(times)},
            "final_equity": equity, "trades": len(result.trips), "orders": len(result.fills),
            "fills_digest": result.fills_digest, "matches_vectorized": same,
            "csv_parse_s": parse_s}


def run_peer(script: str, csv: Path, runs: int) -> dict[str, Any]:
    if not PEER_PY.exists():
        return {"error": f"not installed ({PEER_PY} missing: run {PEERS / 'setup.sh'})"}
    env = dict(os.environ, NUMBA_CACHE_DIR=tempfile.mkdtemp(prefix="peer_numba_"))
    try:
        done = subprocess.run([str(PEER_PY), str(PEERS / script), str(csv), "--runs", str(runs)],
                              env=env, capture_output=True, text=True, timeout=1800)
    except subprocess.TimeoutExpired:
        return {"error": "timed out after 1800 s"}
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": f"exit {done.returncode}: {done.stderr.strip()[-300:]}"}
    peer: dict[str, Any] = json.loads(lines[-1])
    return peer


def _fmt(rate: dict[str, float]) -> str:
    return f"{rate['median']:>13,.0f} ({rate['min']:,.0f}-{rate['max']:,.0f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--peer-runs", type=int, default=5)
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--event-runs", type=int, default=5)
    parser.add_argument("--csv", type=Path, default=None)
    args = parser.parse_args()
    csv = args.csv or largest_csv()
    open_, close = load(csv)
    print(f"input: {csv.name}, {len(close):,} bars; SMA(10)/SMA(30), long only, all-in, "
          "0.1 % fee, 100k cash")

    with tempfile.TemporaryDirectory(prefix="argosy_numba_") as cache:
        first = fresh_process(_FIRST_CALL, csv, cache)
        cold = fresh_process(_KERNELS, csv, cache)
        warm = fresh_process(_KERNELS, csv, cache)
    ours = bench_argosy(open_, close, args.runs)
    event = bench_event_driven(csv, args.event_runs, ours["next_open"])
    peers = {} if args.no_peers else {
        name: run_peer(script, csv, args.peer_runs)
        for name, (script, _) in PEER_SCRIPTS.items()}
    # The host is shared: measure again after the peers and show both, unselected.
    after = bench_argosy(open_, close, args.runs) if peers else {}

    base = peers.get("backtrader", {}).get("bars_per_s", {}).get("median")
    print(f"\n{'engine':<30} {'fill':<10} {'bars/s median (min-max)':>36} {'x bt':>7} "
          f"{'final equity':>13} {'trades':>7} {'orders':>7}  match")
    for label, runs in (("argosy vectorized", ours), ("  same, after the peers", after)):
        for fill_at, row in runs.items():
            ratio = f"{row['bars_per_s']['median'] / base:7.0f}" if base else "      -"
            print(f"{label:<30} {fill_at:<10} {_fmt(row['bars_per_s']):>36} {ratio} "
                  f"{row['final_equity']:13.2f} {row['trades']:7d} {row['orders']:7d}")
    ratio = f"{event['bars_per_s']['median'] / base:7.1f}" if base else "      -"
    print(f"{'argosy event-driven':<30} {'next_open':<10} {_fmt(event['bars_per_s']):>36} "
          f"{ratio} {event['final_equity']:13.2f} {event['trades']:7d} {event['orders']:7d}  "
          f"{'yes' if event['matches_vectorized'] else 'NO'} (vs vectorized)")
    mismatches = 0 if event["matches_vectorized"] else 1
    for name, peer in peers.items():
        fill_at = PEER_SCRIPTS[name][1]
        if "error" in peer:
            print(f"{name:<30} {fill_at:<10} {peer['error']}")
            continue
        mine = ours[fill_at]
        same = (abs(peer["final_equity"] - mine["final_equity"])
                <= MATCH_RTOL * abs(mine["final_equity"])
                and (peer["trades"], peer["orders"]) == (mine["trades"], mine["orders"]))
        mismatches += not same
        ratio = f"{peer['bars_per_s']['median'] / base:7.2f}" if base else "      -"
        label = f"{name} {peer.get('version', '')}"
        rel = (peer["final_equity"] - mine["final_equity"]) / mine["final_equity"]
        print(f"{label:<30} {fill_at:<10} {_fmt(peer['bars_per_s']):>36} {ratio} "
              f"{peer['final_equity']:13.2f} {peer['trades']:7d} {peer['orders']:7d}  "
              f"{'yes' if same else 'NO'} (equity {rel:+.1e} rel)")
        if "first_call_s" in peer:
            print(f"{'':<30} first call {peer['first_call_s']:.2f} s (numba JIT, empty cache)")

    print(f"\nargosy first call, fresh process: import {first['argosy_import_s'] * 1e3:.0f} ms "
          f"(numpy {first['numpy_import_s'] * 1e3:.0f} ms apart), first run "
          f"{first['first_call_s'] * 1e3:.1f} ms, second run {first['second_call_s'] * 1e3:.1f}"
          f" ms; numba imported: {first['numba_loaded']} (no compile on this path)")
    print("numba indicator kernels (not on this path), first calls of 8 kernels in a fresh "
          f"process: empty cache {cold['total_s']:.2f} s, warm on-disk cache "
          f"{warm['total_s']:.2f} s (+ import numba {cold['numba_import']:.2f} s / "
          f"{warm['numba_import']:.2f} s)")
    print("  per kernel, cold/warm ms (the first, ema, also pays numba's one-time runtime "
          "start even from a warm cache): " + ", ".join(
        f"{k} {cold[k] * 1e3:.0f}/{warm[k] * 1e3:.0f}" for k in cold
        if k not in ("total_s", "numba_import")))
    print(json.dumps({"bench": "strategy_backtest", "input": csv.name, "bars": len(close),
                      "argosy": ours, "argosy_after_peers": after,
                      "argosy_event_driven": event, "argosy_first_call": first,
                      "numba_kernels": {"cold": cold, "warm": warm},
                      "peers": peers}, default=str))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
