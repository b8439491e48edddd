"""Bollinger bands, rolling z-score and ATR.

Bollinger bands and the z-score use the *population* standard deviation (ddof=0) of the last ``period`` values,
as TA-Lib's ``BBANDS`` does; both are NaN for the first ``period - 1`` values. A window whose variance is at the
level of rounding noise (see :mod:`._rolling`), in particular a flat window, gets a standard deviation of exactly
0: its bands collapse onto the mean and its z-score is 0 (the price is at its mean), never a huge ratio of two
rounding errors.

ATR follows TA-Lib: true range ``max(high - low, |high - prev_close|, |low - prev_close|)`` from index 1, its
simple mean over indices ``1..period`` at index ``period``, then Wilder smoothing
``atr = (atr * (period - 1) + tr) / period``; NaN for the first ``period`` values.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from desk.indicators import _backend, _rolling, _scan, _validate

FloatArray = npt.NDArray[np.float64]


def _variance_into(mean_dev: FloatArray, msq_dev: FloatArray, noise: FloatArray, out: FloatArray) -> FloatArray:
    """Population variance from mean deviation and mean squared deviation; rounding noise set to exactly 0."""
    np.multiply(mean_dev, mean_dev, out=out)
    np.subtract(msq_dev, out, out=out)
    np.copyto(out, 0.0, where=out <= noise)
    return out


def bollinger(x: npt.ArrayLike, period: int = 20, num_std: float = 2.0) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(upper, middle, lower): the ``period`` SMA plus and minus ``num_std`` population standard deviations."""
    arr = _validate.array(x)
    n = _validate.period(period)
    k = float(num_std)
    if not np.isfinite(k) or k < 0:
        raise ValueError(f"num_std must be a finite number >= 0, got {num_std!r}")
    size = arr.shape[0]
    fast = _backend.kernels()
    if fast is not None and n > 1:
        bands = (np.empty(size), np.empty(size), np.empty(size))
        _validate.kernel_result(fast.bollinger_kernel(arr, n, k, *bands), (arr, "x"))
        return bands
    _validate.finite(arr)
    if size < n:
        return np.full(size, np.nan), np.full(size, np.nan), np.full(size, np.nan)
    if n == 1:
        return arr.copy(), arr.copy(), arr.copy()
    full = n - 1 + _rolling.padded_outputs(size, n)
    upper, middle, lower = (np.empty(full, dtype=np.float64) for _ in range(3))
    for a in (upper, middle, lower):
        a[: n - 1] = np.nan

    def consume(
        start: int, ref: FloatArray, mean_dev: FloatArray, msq_dev: FloatArray | None, noise: FloatArray | None
    ) -> None:
        assert msq_dev is not None and noise is not None
        shape = mean_dev.shape
        sl = slice(n - 1 + start, n - 1 + start + mean_dev.size)
        mid = middle[sl].reshape(shape)
        width = upper[sl].reshape(shape)
        _variance_into(mean_dev, msq_dev, noise, width)
        np.sqrt(width, out=width)
        width *= k
        np.add(mean_dev, ref, out=mid)
        np.subtract(mid, width, out=lower[sl].reshape(shape))
        width += mid

    _rolling.rolling(arr, n, True, consume)
    return upper[:size], middle[:size], lower[:size]


def zscore(x: npt.ArrayLike, period: int = 20) -> FloatArray:
    """``(x - mean) / std`` over the last ``period`` values (population std, ddof=0); 0 where the window is flat."""
    arr = _validate.array(x)
    n = _validate.period(period)
    size = arr.shape[0]
    fast = _backend.kernels()
    if fast is not None and n > 1:
        result = np.empty(size, dtype=np.float64)
        _validate.kernel_result(fast.zscore_kernel(arr, n, result), (arr, "x"))
        return result
    _validate.finite(arr)
    if size < n:
        return np.full(size, np.nan)
    if n == 1:
        return np.zeros(size)
    out = np.empty(n - 1 + _rolling.padded_outputs(size, n), dtype=np.float64)
    out[: n - 1] = np.nan
    scratch = np.empty(0, dtype=np.float64)

    def consume(
        start: int, ref: FloatArray, mean_dev: FloatArray, msq_dev: FloatArray | None, noise: FloatArray | None
    ) -> None:
        nonlocal scratch
        assert msq_dev is not None and noise is not None
        if scratch.size < mean_dev.size:
            scratch = np.empty(mean_dev.size, dtype=np.float64)
        shape = mean_dev.shape
        first = n - 1 + start
        stop = min(size, first + mean_dev.size)
        sl = slice(first, first + mean_dev.size)
        std = scratch[: mean_dev.size].reshape(shape)
        _variance_into(mean_dev, msq_dev, noise, std)
        np.sqrt(std, out=std)
        z = out[sl].reshape(shape)
        # x - mean = (x - ref) - mean_dev: both small, local quantities. (Padding past the end: repeat x[-1].)
        flat_z = out[sl]
        flat_z[: stop - first] = arr[first:stop]
        flat_z[stop - first :] = arr[-1]
        z -= ref
        z -= mean_dev
        zero = std == 0.0
        std[zero] = 1.0
        z /= std
        z[zero] = 0.0

    _rolling.rolling(arr, n, True, consume)
    return out[:size]


def atr(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int = 14) -> FloatArray:
    """Average True Range (Wilder); NaN for the first ``period`` values."""
    h = _validate.array(high, "high")
    lo = _validate.array(low, "low")
    c = _validate.array(close, "close")
    if not h.shape == lo.shape == c.shape:
        raise ValueError(f"high, low and close must have the same length, got {h.size}, {lo.size}, {c.size}")
    n = _validate.period(period)
    size = c.shape[0]
    fast = _backend.kernels()
    if fast is not None:
        result = np.empty(size, dtype=np.float64)
        ok = fast.atr_kernel(h, lo, c, n, result)
        _validate.kernel_result(ok, (h, "high"), (lo, "low"), (c, "close"))
        return result
    for arr, name in ((h, "high"), (lo, "low"), (c, "close")):
        _validate.finite(arr, name)
    out = _validate.nan_head(size, n)
    if size <= n:
        return out

    # True range from index 1 on, produced chunk by chunk (never stored whole).
    def true_range(start: int, stop: int, buf: FloatArray) -> None:
        row = buf[0]
        hi = h[start + 1 : stop + 1]
        lw = lo[start + 1 : stop + 1]
        prev = c[start:stop]
        gap = np.subtract(hi, prev)
        np.abs(gap, out=gap)
        np.subtract(hi, lw, out=row)
        np.maximum(row, gap, out=row)
        np.subtract(lw, prev, out=gap)
        np.abs(gap, out=gap)
        np.maximum(row, gap, out=row)

    first = np.empty((1, n), dtype=np.float64)
    true_range(0, n, first)
    seed = float(np.sum(first)) / n
    out[n] = seed

    def later(start: int, stop: int, buf: FloatArray) -> None:
        true_range(start + n, stop + n, buf)

    _scan.smooth(size - n - 1, (((n - 1) / n, 1.0 / n),), (seed,), later, out=out[n + 1 :].reshape(1, -1))
    return out
