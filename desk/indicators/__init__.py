"""Technical indicators: vectorised functions on numpy arrays and streaming classes that agree with them.

Vectorised (``desk.indicators.sma`` ...): float64 arrays in, arrays of the same length out, NaN for the warm-up
exactly where TA-Lib puts it. Streaming (``desk.indicators.SMA`` ...): ``update(value)`` per tick returns the
same number the vectorised function gives at that index (or None during the warm-up). The vectorised functions
run compiled numba loops when numba is installed (``desk[fast]``; imported on the first call) and a numpy
implementation otherwise or with ``DESK_NO_NUMBA=1`` (:mod:`._backend`). Conventions, formulas and speed:
docs/indicators.md.
"""

from __future__ import annotations

from desk.indicators.momentum import macd, rsi
from desk.indicators.moving import ema, sma
from desk.indicators.streaming import ATR, EMA, MACD, RSI, SMA, Bollinger, ZScore
from desk.indicators.volatility import atr, bollinger, zscore

__all__ = [
    "ATR",
    "EMA",
    "MACD",
    "RSI",
    "SMA",
    "Bollinger",
    "ZScore",
    "atr",
    "bollinger",
    "ema",
    "macd",
    "rsi",
    "sma",
    "zscore",
]
