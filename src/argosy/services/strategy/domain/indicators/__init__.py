"""Technical indicators in two forms that agree with each other (and with TA-Lib where it
has the indicator):

- vectorized: `sma(close, 30)` -> float64 array of the input's length, NaN during warm-up;
  numpy, or numba kernels cached on disk for the recursive ones;
- streaming: `SMA(30).update(x)` -> the current value, or None during warm-up; O(1) per
  update for live strategies (CCI and Bollinger are O(period): exact deviations need
  the window, see their docstrings).
"""

from argosy.services.strategy.domain.indicators.moving import (
    DEMA,
    EMA,
    SMA,
    TEMA,
    WMA,
    dema,
    ema,
    sma,
    tema,
    wma,
)
from argosy.services.strategy.domain.indicators.oscillators import (
    CCI,
    MACD,
    RSI,
    MACDValue,
    Stochastic,
    StochasticValue,
    cci,
    macd,
    rsi,
    stochastic,
)
from argosy.services.strategy.domain.indicators.trend import (
    ADX,
    ADXValue,
    Ichimoku,
    IchimokuValue,
    adx,
    ichimoku,
)
from argosy.services.strategy.domain.indicators.volatility import (
    ATR,
    Bands,
    Bollinger,
    Donchian,
    Keltner,
    SuperTrend,
    SuperTrendValue,
    atr,
    bollinger,
    donchian,
    keltner,
    supertrend,
    true_range,
)
from argosy.services.strategy.domain.indicators.volume import (
    MFI,
    OBV,
    VWAP,
    mfi,
    obv,
    session_starts,
    vwap,
)

__all__ = [
    "ADX", "ATR", "CCI", "DEMA", "EMA", "MACD", "MFI", "OBV", "RSI", "SMA", "TEMA", "VWAP",
    "WMA", "ADXValue", "Bands", "Bollinger", "Donchian", "Ichimoku", "IchimokuValue",
    "Keltner", "MACDValue", "Stochastic", "StochasticValue", "SuperTrend", "SuperTrendValue",
    "adx", "atr", "bollinger", "cci", "dema", "donchian", "ema", "ichimoku", "keltner",
    "macd", "mfi", "obv", "rsi", "session_starts", "sma", "stochastic", "supertrend", "tema",
    "true_range", "vwap", "wma",
]
