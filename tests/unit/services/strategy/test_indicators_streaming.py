"""The streaming form of every indicator equals its vectorized form, bar by bar: the same
warm-up (None exactly where the array holds NaN) and the same values within 1e-9.

Run on three recordings chosen for their hazards: BTC-PERP (large prices, running sums
drift), ADA/BTC (prices ~5e-5), XRP/ETH 1m (hundreds of gaps and flat candles).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from talib import abstract

from argosy.services.strategy.domain import indicators as ind
from tests.unit.services.strategy._bars import OHLCV_DIR, Bars, load_bars
from tests.unit.services.strategy._compare import assert_matches

FILES = ("ftx_perp_BTC-PERP_1m", "bittrex_spot_ADABTC_5m", "binance_spot_XRPETH_1m")
LIMIT = 6000  # bars per file: enough to leave every warm-up far behind


@dataclass(frozen=True)
class Case:
    name: str
    vectorized: Callable[[Bars], Sequence[Any]]
    streaming: Callable[[], Any]
    feed: Callable[[Any, Bars, int], Any]
    oscillator: bool = False  # bounded 0..100: tolerance relative to the range
    price_difference: bool = False  # MACD: tolerance relative to the price level


def _close(obj: Any, b: Bars, i: int) -> Any:
    return obj.update(float(b.close[i]))


def _hlc(obj: Any, b: Bars, i: int) -> Any:
    return obj.update(float(b.high[i]), float(b.low[i]), float(b.close[i]))


CASES = [
    Case("SMA", lambda b: [ind.sma(b.close, 30)], lambda: ind.SMA(30), _close),
    Case("EMA", lambda b: [ind.ema(b.close, 30)], lambda: ind.EMA(30), _close),
    Case("WMA", lambda b: [ind.wma(b.close, 30)], lambda: ind.WMA(30), _close),
    Case("DEMA", lambda b: [ind.dema(b.close, 20)], lambda: ind.DEMA(20), _close),
    Case("TEMA", lambda b: [ind.tema(b.close, 20)], lambda: ind.TEMA(20), _close),
    Case("RSI", lambda b: [ind.rsi(b.close, 14)], lambda: ind.RSI(14), _close),
    Case("MACD", lambda b: ind.macd(b.close, 12, 26, 9), lambda: ind.MACD(12, 26, 9), _close,
         price_difference=True),
    Case("Bollinger", lambda b: ind.bollinger(b.close, 20, 2.0, 1.5),
         lambda: ind.Bollinger(20, 2.0, 1.5), _close),
    Case("ATR", lambda b: [ind.atr(b.high, b.low, b.close, 14)], lambda: ind.ATR(14), _hlc),
    Case("ADX", lambda b: [a for a in ind.adx(b.high, b.low, b.close, 14)],
         lambda: ind.ADX(14), _hlc, oscillator=True),
    Case("Stochastic", lambda b: ind.stochastic(b.high, b.low, b.close, 14, 3, 3),
         lambda: ind.Stochastic(14, 3, 3), _hlc, oscillator=True),
    Case("CCI", lambda b: [ind.cci(b.high, b.low, b.close, 20)], lambda: ind.CCI(20), _hlc,
         oscillator=True),
    Case("MFI", lambda b: [ind.mfi(b.high, b.low, b.close, b.volume, 14)],
         lambda: ind.MFI(14),
         lambda o, b, i: o.update(b.high[i], b.low[i], b.close[i], b.volume[i]),
         oscillator=True),
    Case("OBV", lambda b: [ind.obv(b.close, b.volume)], lambda: ind.OBV(),
         lambda o, b, i: o.update(b.close[i], b.volume[i])),
    Case("VWAP", lambda b: [ind.vwap(b.high, b.low, b.close, b.volume,
                                     ind.session_starts(b.time_ms))],
         lambda: ind.VWAP(),
         lambda o, b, i: o.update(b.high[i], b.low[i], b.close[i], b.volume[i],
                                  new_session=bool(ind.session_starts(b.time_ms)[i]))),
    Case("Ichimoku", lambda b: ind.ichimoku(b.high, b.low, 9, 26, 52, 26),
         lambda: ind.Ichimoku(9, 26, 52, 26),
         lambda o, b, i: o.update(b.high[i], b.low[i])),
    Case("Keltner", lambda b: ind.keltner(b.high, b.low, b.close, 20, 10, 2.0),
         lambda: ind.Keltner(20, 10, 2.0), _hlc),
    Case("Donchian", lambda b: ind.donchian(b.high, b.low, 20), lambda: ind.Donchian(20),
         lambda o, b, i: o.update(b.high[i], b.low[i])),
    Case("SuperTrend", lambda b: ind.supertrend(b.high, b.low, b.close, 10, 3.0),
         lambda: ind.SuperTrend(10, 3.0), _hlc),
]


def _stream(case: Case, bars: Bars, width: int) -> np.ndarray:
    obj = case.streaming()
    out = np.full((len(bars), width), np.nan)
    for i in range(len(bars)):
        value = case.feed(obj, bars, i)
        if value is None:
            continue
        out[i] = value if isinstance(value, tuple) else (value,)
    return out


@pytest.fixture(params=FILES)
def sample(request: pytest.FixtureRequest, shared_data: object) -> Bars:
    return load_bars(OHLCV_DIR / f"{request.param}.csv").head(LIMIT)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_streaming_equals_vectorized(case: Case, sample: Bars) -> None:
    if case.name in {"MFI", "OBV", "VWAP"} and not sample.has_volume:
        pytest.skip("no volume")
    expected = [np.asarray(a, dtype=np.float64) for a in case.vectorized(sample)]
    streamed = _stream(case, sample, len(expected))
    if case.name in {"ADX", "Ichimoku"}:
        # These streams report their tuple once every line exists (ADX after the DIs,
        # Ichimoku once the displaced slow span does); the arrays start each line earlier.
        incomplete = np.isnan(np.column_stack(expected)).any(axis=1)
        for column in expected:
            column[incomplete] = np.nan
    scale = 100.0 if case.oscillator else 0.0
    if case.price_difference:
        scale = float(np.median(np.abs(sample.close)))
    assert any(np.isfinite(column).any() for column in expected)
    for k, column in enumerate(expected):
        assert_matches(streamed[:, k], column, scale=scale, label=f"{case.name}[{k}]")


def test_rolling_extreme_over_real_highs(sample: Bars) -> None:
    """The monotonic deque under Stochastic/Donchian/Ichimoku equals a brute-force max."""
    highest = ind.Donchian(7)
    for i in range(len(sample)):
        value = highest.update(sample.high[i], sample.low[i])
        if i < 6:
            assert value is None
            continue
        assert value is not None
        assert value.upper == sample.high[i - 6:i + 1].max()
        assert value.lower == sample.low[i - 6:i + 1].min()


@pytest.mark.parametrize(
    ("name", "params", "make", "feed"),
    [
        ("SMA", {"timeperiod": 30}, lambda: ind.SMA(30), _close),
        ("EMA", {"timeperiod": 30}, lambda: ind.EMA(30), _close),
        ("WMA", {"timeperiod": 30}, lambda: ind.WMA(30), _close),
        ("DEMA", {"timeperiod": 30}, lambda: ind.DEMA(30), _close),
        ("TEMA", {"timeperiod": 30}, lambda: ind.TEMA(30), _close),
        ("RSI", {"timeperiod": 14}, lambda: ind.RSI(14), _close),
        ("MACD", {}, lambda: ind.MACD(), _close),
        ("BBANDS", {"timeperiod": 20}, lambda: ind.Bollinger(20), _close),
        ("ATR", {"timeperiod": 14}, lambda: ind.ATR(14), _hlc),
        ("ADX", {"timeperiod": 14}, lambda: ind.ADX(14), _hlc),
        ("STOCH", {}, lambda: ind.Stochastic(), _hlc),
        ("CCI", {"timeperiod": 14}, lambda: ind.CCI(14), _hlc),
        ("MFI", {"timeperiod": 14}, lambda: ind.MFI(14),
         lambda o, b, i: o.update(b.high[i], b.low[i], b.close[i], b.volume[i])),
    ],
)
def test_streaming_warm_up_is_talib_lookback(
    name: str, params: dict[str, int], make: Callable[[], Any],
    feed: Callable[[Any, Bars, int], Any], shared_data: object,
) -> None:
    bars = load_bars(OHLCV_DIR / "ftx_perp_BTC-PERP_1m.csv").head(200)
    obj = make()
    first = next(i for i in range(len(bars)) if feed(obj, bars, i) is not None)
    assert first == abstract.Function(name, **params).lookback
