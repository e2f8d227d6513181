"""Real klines for the strategy tests; without ../shared/data they skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.services.strategy._bars import Bars, load_bars, ohlcv_files

_FILES = ohlcv_files()


@pytest.fixture(params=_FILES, ids=[p.stem for p in _FILES])
def bars(request: pytest.FixtureRequest, shared_data: Path) -> Bars:
    """Every recorded kline file in turn (13 files, 100 to 45,031 bars)."""
    return load_bars(request.param)


@pytest.fixture
def btc(shared_data: Path) -> Bars:
    """FTX BTC-PERP 1m, 45,031 bars: the file the peer benchmarks use."""
    return load_bars(shared_data / "ohlcv" / "ftx_perp_BTC-PERP_1m.csv")
