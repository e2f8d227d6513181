"""Bars for a search: a recorded kline CSV (`open_time_ms,open,high,low,close,volume`, the
format of ../shared/data/ohlcv and of market-data exports), optionally cut to a time range.

Why a file and not the market-data service: a search reads the same bars thousands of
times, so it wants them once, local and immutable; the API resolves a dataset name to a
file under the configured data directory and never follows a path outside it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from argosy.kernel.errors import Invalid, NotFound
from argosy.services.strategy.domain.optimize import OHLCV

__all__ = ["dataset_path", "load_ohlcv_csv", "periods_per_year"]

_HEADER = ["open_time_ms", "open", "high", "low", "close", "volume"]
_MS_PER_YEAR = 365 * 24 * 3600 * 1000


def dataset_path(root: Path, name: str) -> Path:
    """`name` (e.g. `ohlcv/ftx_perp_BTC-PERP_1m.csv`) under `root`; never outside it."""
    base = root.resolve()
    path = (base / name).resolve()
    if base not in path.parents or path.suffix != ".csv":
        raise Invalid(f"dataset {name!r} is not a CSV under the data directory",
                      field="dataset")
    if not path.is_file():
        raise NotFound(f"dataset {name!r} not found", field="dataset")
    return path


def load_ohlcv_csv(path: Path, start_ms: int | None = None,
                   end_ms: int | None = None) -> tuple[OHLCV, np.ndarray]:
    """(bars, open times in ms); an empty volume cell reads as NaN."""
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or rows[0] != _HEADER:
        raise Invalid(f"{path.name}: header must be {','.join(_HEADER)}", field="dataset")
    body = rows[1:]
    times = np.array([int(r[0]) for r in body], dtype=np.int64)
    cols = [np.array([float(r[i]) if r[i] else np.nan for r in body]) for i in range(1, 6)]
    keep = np.ones(len(times), dtype=np.bool_)
    if start_ms is not None:
        keep &= times >= start_ms
    if end_ms is not None:
        keep &= times < end_ms
    if not keep.any():
        raise Invalid(f"{path.stem} has no bars in [{start_ms}, {end_ms})", field="start_ms")
    return OHLCV(*(c[keep] for c in cols)), times[keep]


def periods_per_year(times_ms: np.ndarray) -> float:
    """Bars per year from the median bar spacing (a 1m file -> 525,600)."""
    if len(times_ms) < 2:
        return 365.0
    step = float(np.median(np.diff(times_ms)))
    return _MS_PER_YEAR / step if step > 0 else 365.0
