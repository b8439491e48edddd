"""Simple and exponential moving averages with TA-Lib's conventions.

Both return an array as long as the input; the first ``period - 1`` values (TA-Lib's lookback) are NaN. The EMA
uses ``alpha = 2 / (period + 1)`` and is seeded with the simple average of the first ``period`` values, placed at
index ``period - 1`` (TA-Lib's default, non-Metastock compatibility).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from desk.indicators import _backend, _rolling, _validate
from desk.indicators._scan import linear_filter

FloatArray = npt.NDArray[np.float64]


def sma(x: npt.ArrayLike, period: int = 20) -> FloatArray:
    """Mean of the last ``period`` values; NaN for the first ``period - 1``."""
    arr = _validate.array(x)
    n = _validate.period(period)
    size = arr.shape[0]
    fast = _backend.kernels()
    if fast is not None:
        result = np.empty(size, dtype=np.float64)
        _validate.kernel_result(fast.sma_kernel(arr, n, result), (arr, "x"))
        return result
    _validate.finite(arr)
    if size < n:
        return np.full(size, np.nan)
    out = np.empty(n - 1 + _rolling.padded_outputs(size, n), dtype=np.float64)
    out[: n - 1] = np.nan
    body = out[n - 1 :]

    def consume(
        start: int, ref: FloatArray, mean_dev: FloatArray, _msq: FloatArray | None, _noise: FloatArray | None
    ) -> None:
        np.add(mean_dev, ref, out=body[start : start + mean_dev.size].reshape(mean_dev.shape))

    _rolling.rolling(arr, n, False, consume)
    return out[:size]


def ema_seeded(x: FloatArray, start: int, period: int, seed: float, out: FloatArray) -> None:
    """Writes into ``out[start:]`` the EMA of ``x`` whose value at ``start`` is ``seed`` (TA-Lib's recursion)."""
    alpha = 2.0 / (period + 1)
    out[start] = seed
    linear_filter(x[start + 1 :], 1.0 - alpha, alpha, seed, out[start + 1 :])


def ema(x: npt.ArrayLike, period: int = 20) -> FloatArray:
    """Exponential moving average, ``alpha = 2 / (period + 1)``, seeded with the SMA of the first ``period``
    values at index ``period - 1``; NaN before it."""
    arr = _validate.array(x)
    n = _validate.period(period)
    fast = _backend.kernels()
    if fast is not None:
        result = np.empty(arr.shape[0], dtype=np.float64)
        _validate.kernel_result(fast.ema_kernel(arr, n, result), (arr, "x"))
        return result
    _validate.finite(arr)
    out = _validate.nan_head(arr.shape[0], n - 1)
    if arr.shape[0] >= n:
        ema_seeded(arr, n - 1, n, float(np.mean(arr[:n])), out)
    return out
