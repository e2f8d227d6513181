"""Every indicator TA-Lib also has equals TA-Lib within 1e-9 relative, on every recorded
kline file, with the same warm-up (first value at TA-Lib's lookback).

Indicators TA-Lib lacks are checked against the TA-Lib building blocks they are defined
by: Keltner = EMA +/- k*ATR, Donchian = MAX/MIN, Ichimoku lines = MIDPRICE.
"""

from __future__ import annotations

import numpy as np
import pytest
import talib
from talib import abstract

from argosy.services.strategy.domain import indicators as ind
from tests.unit.services.strategy._bars import Bars
from tests.unit.services.strategy._compare import assert_matches, first_valid


def _needs_volume(bars: Bars) -> None:
    if not bars.has_volume:
        pytest.skip(f"{bars.name} has no volume (mark-price klines)")


@pytest.mark.parametrize("period", [2, 10, 30])
def test_moving_averages(bars: Bars, period: int) -> None:
    c = bars.close
    assert_matches(ind.sma(c, period), talib.SMA(c, period), label="SMA")
    assert_matches(ind.ema(c, period), talib.EMA(c, period), label="EMA")
    assert_matches(ind.wma(c, period), talib.WMA(c, period), label="WMA")
    assert_matches(ind.dema(c, period), talib.DEMA(c, period), label="DEMA")
    assert_matches(ind.tema(c, period), talib.TEMA(c, period), label="TEMA")


@pytest.mark.parametrize("period", [2, 14, 21])
def test_rsi_atr_adx_cci(bars: Bars, period: int) -> None:
    h, lo, c = bars.high, bars.low, bars.close
    assert_matches(ind.rsi(c, period), talib.RSI(c, period), label="RSI")
    assert_matches(ind.true_range(h, lo, c), talib.TRANGE(h, lo, c), label="TRANGE")
    assert_matches(ind.atr(h, lo, c, period), talib.ATR(h, lo, c, period), label="ATR")
    value, plus_di, minus_di = ind.adx(h, lo, c, period)
    assert_matches(value, talib.ADX(h, lo, c, period), label="ADX")
    assert_matches(plus_di, talib.PLUS_DI(h, lo, c, period), label="PLUS_DI")
    assert_matches(minus_di, talib.MINUS_DI(h, lo, c, period), label="MINUS_DI")
    assert_matches(ind.cci(h, lo, c, period), talib.CCI(h, lo, c, period), label="CCI")


@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (5, 35, 5), (26, 12, 9)])
def test_macd(bars: Bars, fast: int, slow: int, signal: int) -> None:
    """MACD is a difference of two prices: near its zero crossings the only meaningful
    bound is relative to the price level (a 1-ulp EMA difference at 46,000 is 7e-12)."""
    ours = ind.macd(bars.close, fast, slow, signal)
    theirs = talib.MACD(bars.close, fast, slow, signal)
    level = float(np.median(np.abs(bars.close)))
    for name, a, b in zip(("macd", "signal", "hist"), ours, theirs, strict=True):
        assert_matches(a, b, scale=level, label=f"MACD.{name}")


@pytest.mark.parametrize(("period", "up", "down"), [(20, 2.0, 2.0), (5, 1.5, 3.0)])
def test_bollinger(bars: Bars, period: int, up: float, down: float) -> None:
    ours = ind.bollinger(bars.close, period, up, down)
    theirs = talib.BBANDS(bars.close, period, up, down)
    for name, a, b in zip(("upper", "middle", "lower"), ours, theirs, strict=True):
        assert_matches(a, b, label=f"BBANDS.{name}")


@pytest.mark.parametrize(("k", "smooth", "d"), [(5, 3, 3), (14, 3, 5)])
def test_stochastic(bars: Bars, k: int, smooth: int, d: int) -> None:
    slow_k, slow_d = ind.stochastic(bars.high, bars.low, bars.close, k, smooth, d)
    their_k, their_d = talib.STOCH(bars.high, bars.low, bars.close, k, smooth, 0, d, 0)
    assert_matches(slow_k, their_k, scale=100.0, label="STOCH.k")
    assert_matches(slow_d, their_d, scale=100.0, label="STOCH.d")


@pytest.mark.parametrize("period", [2, 14])
def test_volume_indicators(bars: Bars, period: int) -> None:
    _needs_volume(bars)
    h, lo, c, v = bars.high, bars.low, bars.close, bars.volume
    assert_matches(ind.mfi(h, lo, c, v, period), talib.MFI(h, lo, c, v, period), label="MFI")
    assert_matches(ind.obv(c, v), talib.OBV(c, v), label="OBV")


def test_channels_built_from_talib_parts(bars: Bars) -> None:
    h, lo, c = bars.high, bars.low, bars.close
    upper, middle, lower = ind.keltner(h, lo, c, 20, 10, 2.0)
    atr = talib.ATR(h, lo, c, 10)
    assert_matches(middle, talib.EMA(c, 20) + 0 * atr, label="Keltner.middle")
    assert_matches(upper, talib.EMA(c, 20) + 2.0 * atr, label="Keltner.upper")
    assert_matches(lower, talib.EMA(c, 20) - 2.0 * atr, label="Keltner.lower")
    upper, middle, lower = ind.donchian(h, lo, 20)
    assert_matches(upper, talib.MAX(h, 20), label="Donchian.upper")
    assert_matches(lower, talib.MIN(lo, 20), label="Donchian.lower")
    assert_matches(middle, talib.MIDPRICE(h, lo, 20), label="Donchian.middle")


def test_ichimoku_lines_are_talib_midprices(bars: Bars) -> None:
    tenkan, kijun, span_a, span_b = ind.ichimoku(bars.high, bars.low, 9, 26, 52, 26)
    h, lo = bars.high, bars.low
    their_tenkan, their_kijun = talib.MIDPRICE(h, lo, 9), talib.MIDPRICE(h, lo, 26)
    assert_matches(tenkan, their_tenkan, label="tenkan")
    assert_matches(kijun, their_kijun, label="kijun")
    shifted_a = np.full(len(h), np.nan)
    shifted_b = np.full(len(h), np.nan)
    shifted_a[26:] = ((their_tenkan + their_kijun) / 2.0)[:-26]
    shifted_b[26:] = talib.MIDPRICE(h, lo, 52)[:-26]
    assert_matches(span_a, shifted_a, label="span_a")
    assert_matches(span_b, shifted_b, label="span_b")
    assert first_valid(span_b) == 52 - 1 + 26


@pytest.mark.parametrize(
    ("name", "params", "ours"),
    [
        ("SMA", {"timeperiod": 30}, lambda b: ind.sma(b.close, 30)),
        ("EMA", {"timeperiod": 30}, lambda b: ind.ema(b.close, 30)),
        ("WMA", {"timeperiod": 30}, lambda b: ind.wma(b.close, 30)),
        ("DEMA", {"timeperiod": 30}, lambda b: ind.dema(b.close, 30)),
        ("TEMA", {"timeperiod": 30}, lambda b: ind.tema(b.close, 30)),
        ("RSI", {"timeperiod": 14}, lambda b: ind.rsi(b.close, 14)),
        ("MACD", {}, lambda b: ind.macd(b.close)[0]),
        ("BBANDS", {"timeperiod": 20}, lambda b: ind.bollinger(b.close, 20)[0]),
        ("ATR", {"timeperiod": 14}, lambda b: ind.atr(b.high, b.low, b.close, 14)),
        ("ADX", {"timeperiod": 14}, lambda b: ind.adx(b.high, b.low, b.close, 14)[0]),
        ("PLUS_DI", {"timeperiod": 14}, lambda b: ind.adx(b.high, b.low, b.close, 14)[1]),
        ("STOCH", {}, lambda b: ind.stochastic(b.high, b.low, b.close)[0]),
        ("CCI", {"timeperiod": 14}, lambda b: ind.cci(b.high, b.low, b.close, 14)),
        ("MFI", {"timeperiod": 14},
         lambda b: ind.mfi(b.high, b.low, b.close, b.volume, 14)),
        ("OBV", {}, lambda b: ind.obv(b.close, b.volume)),
    ],
)
def test_warm_up_equals_talib_lookback(btc: Bars, name: str, params: dict[str, int],
                                       ours: object) -> None:
    lookback = abstract.Function(name, **params).lookback
    assert callable(ours)
    assert first_valid(ours(btc)) == lookback
