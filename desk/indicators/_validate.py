"""Argument checks shared by the indicators: one clear ValueError naming the bad value, never a numpy trace."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def array(values: npt.ArrayLike, name: str = "x") -> FloatArray:
    """The input as a 1-D, C-contiguous float64 array (a view when it already is one); values are not checked.

    The compiled kernels check finiteness in their own loop, which saves a pass over the data; see :func:`series`.
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return np.ascontiguousarray(arr)


def finite(arr: FloatArray, name: str = "x") -> FloatArray:
    """``arr`` itself, after checking it holds no NaN or inf (ValueError naming the first bad index).

    NaN and inf are refused rather than propagated: the blocked products would spread one NaN to the outputs of
    its whole block (values before it included) and every later one. The check is a single sum (any NaN or inf
    makes it non-finite); only then is the first offending index looked up, for the message.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        total = float(np.sum(arr))
    if not math.isfinite(total):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise ValueError(f"{name} must be finite, got {arr[bad[0]]} at index {bad[0]}")
    return arr


def series(values: npt.ArrayLike, name: str = "x") -> FloatArray:
    """The input as a 1-D float64 array of finite values: :func:`array`, then :func:`finite`."""
    return finite(array(values, name), name)


def kernel_result(ok: bool, *named: tuple[FloatArray, str]) -> None:
    """Raises for the first non-finite input when a compiled kernel reported one (``ok`` False)."""
    if ok:
        return
    for arr, name in named:
        finite(arr, name)
    raise AssertionError("a kernel reported a non-finite input that the inputs do not contain")


def period(value: int, name: str = "period", minimum: int = 1) -> int:
    """A window length: an int (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def nan_head(length: int, lookback: int) -> FloatArray:
    """An output buffer of ``length`` whose first ``lookback`` values (the warm-up) are NaN; the rest is unset."""
    out = np.empty(length, dtype=np.float64)
    out[: min(lookback, length)] = np.nan
    return out
