"""Rolling mean and population variance over a fixed window, vectorised, without catastrophic cancellation.

A global running sum (TA-Lib's method, or differences of ``np.cumsum``) makes the variance
``E[x^2] - E[x]^2`` cancel catastrophically on price-level data: at 30 000 with a window variance near 1 the
result keeps only a few digits. Here the outputs are cut into rows; each row holds the inputs its outputs need
(``per_row + n - 1`` values) minus one reference value from the middle of the row, so every sum is of small,
local deviations and the rounding error depends only on the few hundred values around a window, never on the
history: the variance's absolute error is at most about ``8 * eps * (L / n) * max(d**2)`` (L the row length,
max(64, 8 * (n - 1)); d a value's deviation from its row's reference); that bound is handed to the caller as the
noise floor. Prefix sums inside a row take one matrix product per block of 16 values (as in :mod:`._scan`); rows
are processed in cache-sized chunks, and each chunk's results go to the caller so that it can finish its
arithmetic while they are in cache.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from desk.indicators._scan import _GEMM_ROWS, BLOCK

FloatArray = npt.NDArray[np.float64]

# Minimum row length (inputs): rows are a multiple of BLOCK and hold at least 8 windows, so that the overlap
# (window - 1 inputs repeated per row) costs at most ~12%. Short rows keep the deviations d small, which is what
# bounds the variance's rounding error.
_ROW = 64
_CHUNK = 16384  # inputs per chunk: temporaries of 128 KiB stay in L2; products stay under 1024 rows (see _scan)
_EPS = float(np.finfo(np.float64).eps)

# consume(start, ref, mean_dev, msq_dev, noise): outputs ``start .. start + mean_dev.size`` (output i covers the
# window ending at input ``i + window - 1``) have mean ``ref + mean_dev``; with squares, ``msq_dev`` is the mean
# squared deviation from ``ref`` (variance = ``msq_dev - mean_dev**2``) and a variance at or below ``noise`` is
# rounding noise (the window is flat). Arrays are (rows, per_row), not necessarily contiguous; ``ref`` and
# ``noise`` are (rows, 1). The last chunk may run past the end (padding, to be ignored).
Consumer = Callable[[int, FloatArray, FloatArray, FloatArray | None, FloatArray | None], None]


def row_layout(window: int) -> tuple[int, int]:
    """Row length L (a multiple of BLOCK) and number of outputs per row for a window of ``window`` values."""
    target = max(_ROW, 8 * (window - 1), BLOCK)
    length = target + (-target) % BLOCK
    return length, length - (window - 1)


def padded_outputs(n_in: int, window: int) -> int:
    """Size of an output buffer that can take every chunk, padding included."""
    n_out = n_in - window + 1
    if n_out <= 0:
        return 0
    _, per_row = row_layout(window)
    return -(-n_out // per_row) * per_row


def rolling(x: FloatArray, window: int, squares: bool, consume: Consumer) -> None:
    """Feeds ``consume`` the window means (and mean squares) of every full window of ``x``, chunk by chunk."""
    n_in = x.shape[0]
    n_out = n_in - window + 1
    if n_out <= 0:
        return
    length, per_row = row_layout(window)
    rows = -(-n_out // per_row)
    full_rows = (n_in - length) // per_row + 1 if n_in >= length else 0
    src = np.ascontiguousarray(x)
    view = np.lib.stride_tricks.as_strided(src, shape=(full_rows, length), strides=(per_row * 8, 8), writeable=False)
    tail_rows = np.empty((rows - full_rows, length), dtype=np.float64)  # last row(s), padded with the last value
    for i in range(rows - full_rows):
        begin = (full_rows + i) * per_row
        part = src[begin : begin + length]
        tail_rows[i, : part.size] = part
        tail_rows[i, part.size :] = src[-1]

    moments = 2 if squares else 1
    blocks_per_row = length // BLOCK
    tri = np.triu(np.full((BLOCK, BLOCK), 1.0 / window))  # prefix sums already divided by the window
    col = np.ones(BLOCK)
    noise_factor = 8.0 * _EPS * (length / window + 2.0)
    rows_per_chunk = max(1, _CHUNK // length)
    cap = min(rows, rows_per_chunk)
    work_buf = np.empty(moments * cap * length, dtype=np.float64)
    prefix_buf = np.empty_like(work_buf)
    for r0 in range(0, rows, rows_per_chunk):
        r1 = min(rows, r0 + rows_per_chunk)
        k = r1 - r0
        work = work_buf[: moments * k * length].reshape(moments, k, length)
        prefix = prefix_buf[: moments * k * length].reshape(moments, k, length)
        dev = work[0]
        split = max(0, min(r1, full_rows) - r0)
        ref = np.empty((k, 1), dtype=np.float64)
        if split:
            ref[:split, 0] = view[r0 : r0 + split, length // 2]
            np.subtract(view[r0 : r0 + split], ref[:split], out=dev[:split])
        if split < k:
            extra = tail_rows[r0 + split - full_rows : r1 - full_rows]
            ref[split:, 0] = extra[:, length // 2]
            np.subtract(extra, ref[split:], out=dev[split:])
        noise = None
        if squares:
            np.multiply(dev, dev, out=work[1])
            noise = work[1].max(axis=1, keepdims=True)
            noise *= noise_factor
        # Running total of earlier blocks in the row, injected at each block's first value: one product then
        # yields the finished prefix sums (divided by the window).
        blocks = work.reshape(moments, k, blocks_per_row, BLOCK)
        totals = blocks @ col
        blocks[..., 1:, 0] += np.cumsum(totals[..., :-1], axis=-1)
        for i in range(moments):  # products of <= 1024 rows: below OpenBLAS's threading threshold
            flat_in = work[i].reshape(-1, BLOCK)
            flat_out = prefix[i].reshape(-1, BLOCK)
            for b0 in range(0, flat_in.shape[0], _GEMM_ROWS):
                np.matmul(flat_in[b0 : b0 + _GEMM_ROWS], tri, out=flat_out[b0 : b0 + _GEMM_ROWS])
        # Window sums = differences of prefix sums, written over the (no longer needed) deviations.
        sums = work[..., :per_row]
        sums[..., 0] = prefix[..., window - 1]
        np.subtract(prefix[..., window:], prefix[..., : length - window], out=sums[..., 1:])
        consume(r0 * per_row, ref, sums[0], sums[1] if squares else None, noise)
