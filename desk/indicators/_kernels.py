"""Compiled loops (numba) for the vectorised indicators: one pass over the data, every output in that pass.

Why: the numpy path (:mod:`._scan`, :mod:`._rolling`) pays ~1.5-2 ns an element for every smoothed series and
every extra pass, which leaves RSI, MACD and BBANDS 2.6-3.8x behind TA-Lib's C loops on 1M closes; these loops
do what TA-Lib does (one fused pass, outputs written as they are computed) and take 0.5-0.7x TA-Lib's time
(benchmarks/bench_indicators.py, docs/indicators.md). This module imports numba at the top and is itself imported
only by :mod:`._backend`, on the first indicator call, never at ``import desk``.

Conventions are those of the numpy path (TA-Lib's warm-up, seeds and MACD alignment), but the arithmetic is
independent of it, so the two serve as each other's reference in the tests:

- recursions are written ``y = c * y + g * u`` (one multiply-add on the dependency chain; ``fastmath`` is limited
  to ``contract``, which lets LLVM fuse it into an FMA and changes nothing else);
- rolling windows keep running sums of deviations from a reference value that is re-chosen, and the sums
  recomputed from scratch, every block of ``max(32, 8 * window)`` outputs. Within a block the sums are updated
  with ``x_new - x_old`` and ``(x_new - x_old) * (d_new + d_old)`` (d = deviation from the reference), so
  rounding depends on nearby values only, never on the price level or the history. The variance's rounding
  error is bounded by ``(window + block + 4) * (16 / window + 2) * eps * max(d**2)`` (a forward error bound of
  the updates, max over the values seen in the block so far); a variance at or below it is a flat window and
  gets a standard deviation of exactly 0, as in the numpy path.

Inputs are checked for NaN and inf inside the loops (one comparison an element, off the dependency chain): a
kernel returns False when it met one, and the caller then reports the first bad index.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numba  # type: ignore[import-untyped, import-not-found, unused-ignore]
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_EPS = float(np.finfo(np.float64).eps)
_NAN = math.nan
_INF = math.inf


def _compiler(cache: bool) -> Callable[[Callable[..., Any]], Any]:
    """numba's ``njit`` with desk's options. ``error_model="numpy"``: a division by zero gives inf/NaN instead of
    a Python exception check in the loop; ``nogil``: kernels can run in threads (the VaR worker's, say)."""
    return numba.njit(cache=cache, nogil=True, error_model="numpy", fastmath={"contract"})


def _block_loop(window: int) -> int:
    """Outputs between two re-anchorings of the running window sums."""
    return max(32, 8 * window)


try:
    _block: Callable[[int], int] = _compiler(True)(_block_loop)
    CACHED = True
except RuntimeError:  # numba found no writable cache directory: compile in every process instead of failing
    _block = _compiler(False)(_block_loop)
    CACHED = False
_jit = _compiler(CACHED)


def _noise_factor_loop(window: int) -> float:
    """Times ``max(d**2)``: the bound on the variance's rounding error within one block (module docstring)."""
    return (window + max(32, 8 * window) + 4) * (16.0 / window + 2.0) * _EPS


_noise_factor: Callable[[int], float] = _jit(_noise_factor_loop)


def _finite_loop(x: FloatArray, start: int, stop: int) -> bool:
    """True when ``x[start:stop]`` holds no NaN or inf."""
    ok = True
    for i in range(start, stop):
        v = x[i]
        ok &= -_INF < v < _INF
    return ok


_finite: Callable[[FloatArray, int, int], bool] = _jit(_finite_loop)


def _ema(x: FloatArray, period: int, out: FloatArray) -> bool:
    size = x.shape[0]
    for i in range(min(period - 1, size)):
        out[i] = _NAN
    if size < period:
        return _finite(x, 0, size)
    ok = _finite(x, 0, period)
    total = 0.0
    for i in range(period):
        total += x[i]
    y = total / period
    out[period - 1] = y
    g = 2.0 / (period + 1)
    c = 1.0 - g
    for i in range(period, size):
        v = x[i]
        ok &= -_INF < v < _INF
        y = c * y + g * v
        out[i] = y
    return ok


def _macd(
    x: FloatArray, fast: int, slow: int, signal: int, line: FloatArray, sig: FloatArray, hist: FloatArray
) -> bool:
    """TA-Lib's MACD in one pass: both EMAs start at ``slow - 1`` (the fast one seeded from the ``fast`` values
    ending there); the signal EMA is seeded with the mean of the first ``signal`` MACD values."""
    size = x.shape[0]
    start = slow - 1
    lookback = start + signal - 1
    for i in range(min(lookback, size)):
        line[i] = _NAN
        sig[i] = _NAN
        hist[i] = _NAN
    if size <= lookback:
        return _finite(x, 0, size)
    ok = _finite(x, 0, slow)
    slow_sum = 0.0
    for i in range(slow - fast):
        slow_sum += x[i]
    fast_sum = 0.0
    for i in range(slow - fast, slow):
        fast_sum += x[i]
    f = fast_sum / fast
    s = (slow_sum + fast_sum) / slow
    gf = 2.0 / (fast + 1)
    cf = 1.0 - gf
    gs = 2.0 / (slow + 1)
    cs = 1.0 - gs
    gq = 2.0 / (signal + 1)
    cq = 1.0 - gq
    # Warm-up of the signal: the MACD line from ``start`` to ``lookback`` is summed for the signal's seed.
    acc = f - s
    for i in range(slow, lookback + 1):
        v = x[i]
        ok &= -_INF < v < _INF
        f = cf * f + gf * v
        s = cs * s + gs * v
        acc += f - s
    m = f - s
    q = acc / signal
    line[lookback] = m
    sig[lookback] = q
    hist[lookback] = m - q
    for i in range(lookback + 1, size):
        v = x[i]
        ok &= -_INF < v < _INF
        f = cf * f + gf * v
        s = cs * s + gs * v
        m = f - s
        q = cq * q + gq * m
        line[i] = m
        sig[i] = q
        hist[i] = m - q
    return ok


def _rsi(x: FloatArray, period: int, flat: float, out: FloatArray) -> bool:
    """Wilder's RSI: gains and losses smoothed separately, ``100 * gain / (gain + loss)``, ``flat`` when both
    averages are 0."""
    size = x.shape[0]
    for i in range(min(period, size)):
        out[i] = _NAN
    if size <= period:
        return _finite(x, 0, size)
    ok = _finite(x, 0, period + 1)
    gain = 0.0
    loss = 0.0
    for i in range(1, period + 1):
        d = x[i] - x[i - 1]
        if d > 0.0:
            gain += d
        else:
            loss -= d
    gain /= period
    loss /= period
    total = gain + loss
    out[period] = 100.0 * gain / total if total != 0.0 else flat
    w = 1.0 / period
    c = (period - 1) / period
    prev = x[period]
    for i in range(period + 1, size):
        v = x[i]
        ok &= -_INF < v < _INF
        d = v - prev
        prev = v
        gain = c * gain + w * max(d, 0.0)
        loss = c * loss + w * max(-d, 0.0)
        total = gain + loss
        out[i] = 100.0 * gain / total if total != 0.0 else flat
    return ok


def _atr(high: FloatArray, low: FloatArray, close: FloatArray, period: int, out: FloatArray) -> bool:
    size = close.shape[0]
    for i in range(min(period, size)):
        out[i] = _NAN
    ok = _finite(high, 0, 1) and _finite(low, 0, 1) and _finite(close, 0, 1)
    if size <= period:
        return ok and _finite(high, 0, size) and _finite(low, 0, size) and _finite(close, 0, size)
    total = 0.0
    prev = close[0]
    for i in range(1, period + 1):
        h = high[i]
        lo = low[i]
        ok &= -_INF < h < _INF and -_INF < lo < _INF and -_INF < close[i] < _INF
        total += max(h - lo, abs(h - prev), abs(lo - prev))
        prev = close[i]
    y = total / period
    out[period] = y
    w = 1.0 / period
    c = (period - 1) / period
    for i in range(period + 1, size):
        h = high[i]
        lo = low[i]
        cl = close[i]
        ok &= (-_INF < h < _INF) & (-_INF < lo < _INF) & (-_INF < cl < _INF)
        y = c * y + w * max(h - lo, abs(h - prev), abs(lo - prev))
        prev = cl
        out[i] = y
    return ok


def _window_start_loop(x: FloatArray, t: int, stop: int, window: int) -> tuple[float, float, float, float, bool]:
    """Reference (the middle of the inputs the block ``t..stop`` reads) and the sums of deviations and squared
    deviations of the window ending at ``t``, plus their largest square and whether the window was finite."""
    ref = x[(t - window + 1 + stop - 1) // 2]
    s1 = 0.0
    s2 = 0.0
    big = 0.0
    ok = True
    for j in range(t - window + 1, t + 1):
        v = x[j]
        ok &= -_INF < v < _INF
        d = v - ref
        s1 += d
        s2 += d * d
        big = max(big, d * d)
    return ref, s1, s2, big, ok


_window_start: Callable[[FloatArray, int, int, int], tuple[float, float, float, float, bool]] = _jit(_window_start_loop)


def _sma(x: FloatArray, window: int, out: FloatArray) -> bool:
    size = x.shape[0]
    for i in range(min(window - 1, size)):
        out[i] = _NAN
    if size < window:
        return _finite(x, 0, size)
    ok = True
    inv = 1.0 / window
    block = _block(window)
    t = window - 1
    while t < size:
        stop = min(size, t + block)
        ref = x[(t - window + 1 + stop - 1) // 2]
        s1 = 0.0
        for j in range(t - window + 1, t + 1):
            v = x[j]
            ok &= -_INF < v < _INF
            s1 += v - ref
        out[t] = ref + s1 * inv
        for i in range(t + 1, stop):
            v = x[i]
            ok &= -_INF < v < _INF
            s1 += v - x[i - window]
            out[i] = ref + s1 * inv
        t = stop
    return ok


def _bollinger(x: FloatArray, window: int, k: float, upper: FloatArray, middle: FloatArray, lower: FloatArray) -> bool:
    size = x.shape[0]
    for i in range(min(window - 1, size)):
        upper[i] = _NAN
        middle[i] = _NAN
        lower[i] = _NAN
    if size < window:
        return _finite(x, 0, size)
    ok = True
    inv = 1.0 / window
    block = _block(window)
    noise = _noise_factor(window)
    t = window - 1
    while t < size:
        stop = min(size, t + block)
        ref, s1, s2, big, fine = _window_start(x, t, stop, window)
        ok &= fine
        i = t
        while True:
            mean_dev = s1 * inv
            var = s2 * inv - mean_dev * mean_dev
            width = k * math.sqrt(var) if var > noise * big else 0.0
            mid = ref + mean_dev
            middle[i] = mid
            upper[i] = mid + width
            lower[i] = mid - width
            i += 1
            if i >= stop:
                break
            v = x[i]
            ok &= -_INF < v < _INF
            old = x[i - window]
            d_new = v - ref
            s1 += v - old
            s2 += (v - old) * (d_new + (old - ref))
            big = max(big, d_new * d_new)
        t = stop
    return ok


def _zscore(x: FloatArray, window: int, out: FloatArray) -> bool:
    size = x.shape[0]
    for i in range(min(window - 1, size)):
        out[i] = _NAN
    if size < window:
        return _finite(x, 0, size)
    ok = True
    inv = 1.0 / window
    block = _block(window)
    noise = _noise_factor(window)
    t = window - 1
    while t < size:
        stop = min(size, t + block)
        ref, s1, s2, big, fine = _window_start(x, t, stop, window)
        ok &= fine
        i = t
        d_new = x[t] - ref
        while True:
            mean_dev = s1 * inv
            var = s2 * inv - mean_dev * mean_dev
            out[i] = (d_new - mean_dev) / math.sqrt(var) if var > noise * big else 0.0
            i += 1
            if i >= stop:
                break
            v = x[i]
            ok &= -_INF < v < _INF
            old = x[i - window]
            d_new = v - ref
            s1 += v - old
            s2 += (v - old) * (d_new + (old - ref))
            big = max(big, d_new * d_new)
        t = stop
    return ok


ema_kernel = _jit(_ema)
macd_kernel = _jit(_macd)
rsi_kernel = _jit(_rsi)
atr_kernel = _jit(_atr)
sma_kernel = _jit(_sma)
bollinger_kernel = _jit(_bollinger)
zscore_kernel = _jit(_zscore)
