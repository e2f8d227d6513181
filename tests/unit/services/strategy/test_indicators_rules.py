"""Rules of the indicators TA-Lib does not have, and the input checks of all of them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from argosy.kernel.errors import Invalid
from argosy.services.strategy.domain import indicators as ind
from tests.unit.services.strategy._bars import Bars


def test_vwap_resets_each_utc_day(bars: Bars) -> None:
    if not bars.has_volume:
        pytest.skip("no volume")
    starts = ind.session_starts(bars.time_ms)
    ours = ind.vwap(bars.high, bars.low, bars.close, bars.volume, starts)
    frame = pd.DataFrame({
        "day": pd.to_datetime(bars.time_ms, unit="ms").floor("D"),
        "pv": (bars.high + bars.low + bars.close) / 3.0 * bars.volume,
        "v": bars.volume,
    })
    grouped = frame.groupby("day")
    expected = (grouped["pv"].cumsum() / grouped["v"].cumsum()).to_numpy(copy=True)
    expected[grouped["v"].cumsum().to_numpy() == 0] = np.nan
    np.testing.assert_allclose(ours, expected, rtol=1e-9)
    assert starts.sum() == frame["day"].nunique()
    whole = ind.vwap(bars.high, bars.low, bars.close, bars.volume)
    assert whole[-1] == pytest.approx(frame["pv"].sum() / frame["v"].sum(), rel=1e-9)


def test_supertrend_bands_only_ratchet_towards_price(bars: Bars) -> None:
    """While the trend holds, the line under price never falls, the line over price never
    rises, and the close stays on its side of the line (a close through it flips)."""
    line, direction = ind.supertrend(bars.high, bars.low, bars.close, 10, 3.0)
    valid = ~np.isnan(line)
    assert np.flatnonzero(valid)[0] == 10  # the ATR's warm-up
    same = valid[1:] & valid[:-1] & (direction[1:] == direction[:-1])
    step = np.diff(line)
    assert (step[same & (direction[1:] > 0)] >= 0).all()
    assert (step[same & (direction[1:] < 0)] <= 0).all()
    held = np.flatnonzero(same) + 1
    up, down = held[direction[held] > 0], held[direction[held] < 0]
    assert (bars.close[up] >= line[up]).all()
    assert (bars.close[down] <= line[down]).all()
    assert np.isin(direction[valid], (-1.0, 1.0)).all()


def test_obv_and_donchian_on_a_worked_example() -> None:
    close = [10.0, 11.0, 11.0, 9.0, 12.0]
    volume = [5.0, 2.0, 7.0, 3.0, 4.0]
    assert ind.obv(close, volume).tolist() == [5.0, 7.0, 7.0, 4.0, 8.0]
    upper, middle, lower = ind.donchian([3.0, 5.0, 4.0, 2.0], [1.0, 2.0, 0.5, 1.5], 2)
    assert np.isnan(upper[0])
    assert upper[1:].tolist() == [5.0, 5.0, 4.0]
    assert lower[1:].tolist() == [1.0, 0.5, 0.5]
    assert middle[1:].tolist() == [3.0, 2.75, 2.25]


def test_short_series_are_all_warm_up() -> None:
    three = np.array([1.0, 2.0, 3.0])
    for values in (ind.sma(three, 5), ind.ema(three, 5), ind.rsi(three, 5),
                   ind.atr(three, three, three, 5), ind.adx(three, three, three, 5)[0],
                   ind.bollinger(three, 5)[0], ind.macd(three)[0], ind.cci(three, three,
                                                                           three, 5)):
        assert np.isnan(values).all()
    assert ind.SMA(5).update(1.0) is None


@pytest.mark.parametrize(
    "call",
    [
        lambda: ind.sma([1.0, 2.0], 0),
        lambda: ind.ema([1.0, 2.0], -3),
        lambda: ind.rsi([1.0, 2.0], 1),
        lambda: ind.wma([1.0, 2.0], 2.5),
        lambda: ind.sma([[1.0, 2.0]], 2),
        lambda: ind.atr([1.0, 2.0], [1.0], [1.0, 2.0], 2),
        lambda: ind.macd([1.0, 2.0], fast=1),
        lambda: ind.vwap([1.0], [1.0], [1.0], [1.0], starts=[True, False]),
        lambda: ind.ichimoku([1.0], [1.0], displacement=-1),
        lambda: ind.SMA(0),
        lambda: ind.Bollinger(True),
    ],
)
def test_bad_parameters_are_invalid(call: object) -> None:
    with pytest.raises(Invalid) as caught:
        call()  # type: ignore[operator]
    assert caught.value.field
