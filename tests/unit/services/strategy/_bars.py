"""Real recorded klines from ../shared/data/ohlcv, loaded once per file.

Every indicator and backtest test runs on these (see ../shared/data/MANIFEST.md): gaps,
flat candles, prices from 5e-5 (ADA/BTC) to 6e4 (BTC-PERP), so both the rounding of small
numbers and the drift of running sums on large ones are exercised.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tests.support.servers import SHARED_DATA

__all__ = ["OHLCV_DIR", "Bars", "load_bars", "ohlcv_files"]

OHLCV_DIR = SHARED_DATA / "ohlcv"
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Bars:
    name: str
    time_ms: npt.NDArray[np.int64]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __len__(self) -> int:
        return len(self.close)

    def head(self, n: int) -> Bars:
        return Bars(self.name, self.time_ms[:n], self.open[:n], self.high[:n],
                    self.low[:n], self.close[:n], self.volume[:n])

    @property
    def has_volume(self) -> bool:
        return not bool(np.isnan(self.volume).any())


def ohlcv_files() -> list[Path]:
    return sorted(OHLCV_DIR.glob("*.csv")) if OHLCV_DIR.is_dir() else []


@cache
def load_bars(path: Path) -> Bars:
    """Columns open_time_ms,open,high,low,close,volume; an empty volume reads as NaN."""
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    assert header == ["open_time_ms", "open", "high", "low", "close", "volume"], header
    columns = list(zip(*body, strict=True))
    prices = [np.array([float(v) if v else np.nan for v in col]) for col in columns[1:]]
    return Bars(path.stem, np.array([int(v) for v in columns[0]], dtype=np.int64), *prices)
