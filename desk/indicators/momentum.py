"""RSI and MACD with TA-Lib's warm-up lengths, seeding and (for MACD) alignment.

RSI (Wilder): gains and losses of ``x[t] - x[t-1]`` are averaged over the first ``period`` differences, then
smoothed with ``avg = (avg * (period - 1) + value) / period``; ``RSI = 100 * avg_gain / (avg_gain + avg_loss)``.
The first value is at index ``period``. One deliberate difference: when there was no movement at all (both
averages exactly 0) desk returns 50 (neutral); TA-Lib returns 0, which reads as extremely oversold and would make a
mean-reversion strategy buy a halted market. TA-Lib also returns 0 whenever ``avg_gain + avg_loss`` is below a
fixed epsilon (1e-14 in TA-Lib 0.6+, 1e-8 in 0.4), which zeroes the RSI of instruments priced below ~1e-6; desk
does not.

MACD matches TA-Lib's ``MACD``: the slow EMA is seeded with the SMA of ``x[0:slow]`` at index ``slow - 1``, and the
fast EMA is *also started at index slow - 1*, seeded with the SMA of the ``fast`` values ending there
(``x[slow-fast:slow]``), not from the start of the series. The signal line is the EMA of the MACD line seeded
with the SMA of its first ``signal`` values; all three outputs (macd, signal, histogram) start at index
``slow + signal - 2`` and are NaN before, although the MACD line itself is defined from ``slow - 1``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from desk.indicators import _backend, _scan, _validate
from desk.indicators.moving import ema_seeded

FloatArray = npt.NDArray[np.float64]

RSI_FLAT = 50.0  # RSI when neither gains nor losses were seen (see module docstring)


def rsi(x: npt.ArrayLike, period: int = 14) -> FloatArray:
    """Relative Strength Index in [0, 100]; NaN for the first ``period`` values."""
    arr = _validate.array(x)
    n = _validate.period(period)
    size = arr.shape[0]
    fast = _backend.kernels()
    if fast is not None:
        result = np.empty(size, dtype=np.float64)
        _validate.kernel_result(fast.rsi_kernel(arr, n, RSI_FLAT, result), (arr, "x"))
        return result
    _validate.finite(arr)
    out = _validate.nan_head(size, n)
    if size <= n:
        return out
    # Averages of the gains and of |moves| (= gains + losses): RSI = 100 * avg_gain / avg_move.
    first = np.diff(arr[: n + 1])
    seed_gain = float(np.sum(np.maximum(first, 0.0))) / n
    seed_move = float(np.sum(np.abs(first))) / n
    out[n] = _ratio(seed_gain, seed_move)

    # Moves from index n + 1 on, produced chunk by chunk: row 0 the gain, row 1 the absolute move.
    def produce(start: int, stop: int, buf: FloatArray) -> None:
        np.subtract(arr[n + 1 + start : n + 1 + stop], arr[n + start : n + stop], out=buf[1])
        np.maximum(buf[1], 0.0, out=buf[0])
        np.abs(buf[1], out=buf[1])

    def consume(start: int, stop: int, avg: FloatArray) -> None:
        dest = out[n + 1 + start : n + 1 + stop]
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(avg[0], avg[1], out=dest)  # row 0 is 100 x the average gain
        if np.count_nonzero(avg[1]) != dest.size:
            dest[avg[1] == 0.0] = RSI_FLAT

    decay = (n - 1) / n
    params = ((decay, 100.0 / n), (decay, 1.0 / n))
    _scan.smooth(size - n - 1, params, (100.0 * seed_gain, seed_move), produce, consume)
    return out


def _ratio(gain: float, move: float) -> float:
    return 100.0 * gain / move if move != 0.0 else RSI_FLAT


def macd(
    x: npt.ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(macd, signal, histogram): ``EMA(fast) - EMA(slow)``, its ``signal``-period EMA, and their difference."""
    arr = _validate.array(x)
    fast_n = _validate.period(fast, "fast")
    slow_n = _validate.period(slow, "slow")
    signal_n = _validate.period(signal, "signal")
    if fast_n >= slow_n:
        raise ValueError(f"fast period must be < slow period, got fast={fast_n}, slow={slow_n}")
    size = arr.shape[0]
    kernels = _backend.kernels()
    if kernels is not None:
        outputs = (np.empty(size), np.empty(size), np.empty(size))
        _validate.kernel_result(kernels.macd_kernel(arr, fast_n, slow_n, signal_n, *outputs), (arr, "x"))
        return outputs
    _validate.finite(arr)
    start = slow_n - 1
    lookback = start + signal_n - 1
    line = _validate.nan_head(size, lookback)
    sig = _validate.nan_head(size, lookback)
    hist = _validate.nan_head(size, lookback)
    if size <= lookback:
        return line, sig, hist
    # Both EMAs run together from ``start`` (one pass over x); the MACD line goes straight into ``line``.
    fast_alpha = 2.0 / (fast_n + 1)
    slow_alpha = 2.0 / (slow_n + 1)
    fast_seed = float(np.mean(arr[slow_n - fast_n : slow_n]))
    slow_seed = float(np.mean(arr[:slow_n]))
    line[start] = fast_seed - slow_seed

    params = ((1.0 - fast_alpha, fast_alpha), (1.0 - slow_alpha, slow_alpha))
    _scan.filters(arr[start + 1 :], params, (fast_seed, slow_seed), (1.0, -1.0), line[start + 1 :])
    ema_seeded(line, lookback, signal_n, float(np.mean(line[start : lookback + 1])), sig)
    line[start:lookback] = np.nan
    np.subtract(line[lookback:], sig[lookback:], out=hist[lookback:])
    return line, sig, hist
