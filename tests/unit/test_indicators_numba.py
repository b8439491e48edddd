"""The compiled kernels (numba) and the numpy path are two independent implementations: they must agree.

Also: non-finite inputs are caught at every position by both paths, the backend switch (``DESK_NO_NUMBA``) and
the numba cache location, and that numba is imported on the first indicator call, never at ``import desk``.
Hand-computed cases, loop references and TA-Lib comparisons run on both paths in test_indicators.py.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import desk.indicators as ind
from desk.indicators import _backend

Arr = npt.NDArray[np.float64]


@pytest.fixture(scope="module")
def compiled() -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(_backend.DISABLE_ENV, raising=False)
        if _backend.kernels() is None:
            pytest.skip("numba is not installed (pip install desk[fast])")


def both(call: Callable[[], Any]) -> tuple[list[Arr], list[Arr]]:
    """``call()`` on the compiled path and on the numpy path, each result as a list of arrays."""
    results = []
    for disabled in ("", "1"):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv(_backend.DISABLE_ENV, disabled)
            out = call()
        results.append(list(out) if isinstance(out, tuple) else [out])
    return results[0], results[1]


def walk(n: int, seed: int, level: float = 30_000.0, vol: float = 1e-3) -> tuple[Arr, Arr, Arr]:
    rng = np.random.default_rng(seed)
    close = level * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
    spread = close * rng.uniform(0.0, 2e-3, n)
    return close + spread, close - spread, close


def same(a: Arr, b: Arr, rtol: float, atol: float = 0.0) -> None:
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg="warm-up NaNs differ")
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)


def check_agree(high: Arr, low: Arr, close: Arr, period: int, var_atol: float | None = None) -> None:
    """Every indicator, compiled vs numpy, at tolerances that depend on the indicator's conditioning only.

    ``var_atol`` bounds the two paths' variance difference where a series moves so far within a window that the
    documented bounds (docs/indicators.md) exceed the default floor of 1e-18 of price**2.
    """
    scale = float(np.max(np.abs(close))) if close.size else 1.0
    for fn in (ind.sma, ind.ema):
        got, want = both(lambda fn=fn: fn(close, period))  # type: ignore[misc]
        same(got[0], want[0], rtol=1e-12)
    got, want = both(lambda: ind.rsi(close, period))
    same(got[0], want[0], rtol=1e-9, atol=1e-9)  # RSI is in [0, 100]
    got, want = both(lambda: ind.atr(high, low, close, period))
    same(got[0], want[0], rtol=1e-9, atol=1e-13 * scale)
    fast, slow = max(1, period // 2), period + 1
    got, want = both(lambda: ind.macd(close, fast, slow, period))
    for g, w in zip(got, want, strict=True):
        same(g, w, rtol=1e-9, atol=1e-12 * scale)  # MACD crosses 0: absolute tolerance at the price's 1e-12
    got, want = both(lambda: ind.bollinger(close, period, 2.0))
    same(got[1], want[1], rtol=1e-12)
    # Half-width (2 std) squared = 4 variance: to 1e-9 relative, or 1e-18 of price**2, or 4 var_atol when a
    # series' own documented variance floor is larger. The bands follow from |sqrt(a) - sqrt(b)| <= sqrt(|a - b|).
    floor = 1e-18 * scale**2 if var_atol is None else max(4.0 * var_atol, 1e-18 * scale**2)
    for g, w in zip(got, want, strict=True):
        same(g, w, rtol=1e-12, atol=max(2e-9 * scale, floor**0.5))
    same(((got[0] - got[1]) / 2.0) ** 2, ((want[0] - want[1]) / 2.0) ** 2, rtol=1e-9, atol=floor)


@pytest.mark.usefixtures("compiled")
@pytest.mark.parametrize("level", [1e-4, 1.0, 30_000.0, 1e8])
@pytest.mark.parametrize("period", [1, 2, 3, 14, 20, 50, 300])
def test_paths_agree_on_long_series(level: float, period: int) -> None:
    high, low, close = walk(60_007, seed=period, level=level)
    check_agree(high, low, close, period)


@pytest.mark.usefixtures("compiled")
def test_paths_agree_on_a_million_points() -> None:
    high, low, close = walk(1_000_000, seed=3, vol=4e-4)
    check_agree(high, low, close, 20)
    got, want = both(lambda: ind.macd(close))
    for g, w in zip(got, want, strict=True):
        same(g, w, rtol=1e-9, atol=1e-12 * float(close.max()))


@pytest.mark.usefixtures("compiled")
@pytest.mark.parametrize("period", [5, 20, 100])  # z of 2-3 value windows amplifies rounding: see test_indicators
def test_zscore_paths_agree(period: int) -> None:
    _, _, close = walk(50_003, seed=period + 100)
    got, want = both(lambda: ind.zscore(close, period))
    same(got[0], want[0], rtol=1e-8, atol=1e-8)
    assert np.nanmax(np.abs(got[0])) <= math.sqrt(period - 1) + 1e-9  # |z| <= sqrt(n - 1) for a population std


@pytest.mark.usefixtures("compiled")
def test_flat_windows_exactly_zero_width_on_both_paths() -> None:
    # Flat stretches at a level the block references do not share, a one-cent step, then flat again: every window
    # whose values are all equal (min == max, checked exactly) has zero width and z = 0, every other a width > 0.
    x = np.concatenate(
        [walk(500, 1)[2], np.full(300, 31_234.57), np.full(5, 31_234.58), np.full(200, 31_234.57), walk(90, 2)[2]]
    )
    for period in (2, 5, 20, 64):
        windows = np.lib.stride_tricks.sliding_window_view(x, period)
        flat = windows.min(axis=1) == windows.max(axis=1)
        assert 0 < flat.sum() < flat.size
        for upper, middle, lower in both(lambda p=period: ind.bollinger(x, p, 2.0)):  # type: ignore[misc]
            width = (upper - middle)[period - 1 :]
            assert np.all(width[flat] == 0.0) and np.all((middle - lower)[period - 1 :][flat] == 0.0)
            assert np.all(width[~flat] > 0.0)
            np.testing.assert_allclose(middle[period - 1 :][flat], windows[flat, 0], rtol=1e-14)
        for (z,) in both(lambda p=period: ind.zscore(x, p)):  # type: ignore[misc]
            assert np.all(z[period - 1 :][flat] == 0.0)
            assert np.all(np.isfinite(z[period - 1 :]))


@pytest.mark.usefixtures("compiled")
def test_strided_readonly_and_list_inputs() -> None:
    _, _, close = walk(10_001, seed=9)
    strided = close[::2]
    readonly = strided.copy()
    readonly.flags.writeable = False
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(_backend.DISABLE_ENV, raising=False)
        for fn in (ind.sma, ind.ema, ind.rsi, ind.zscore):
            want = fn(strided.copy(), 14)
            np.testing.assert_array_equal(fn(strided, 14), want)
            np.testing.assert_array_equal(fn(readonly, 14), want)
            np.testing.assert_array_equal(fn(strided.tolist(), 14), want)
        for g, w in zip(ind.macd(readonly), ind.macd(strided.copy()), strict=True):
            np.testing.assert_array_equal(g, w)
        for g, w in zip(ind.bollinger(readonly), ind.bollinger(strided.copy()), strict=True):
            np.testing.assert_array_equal(g, w)
        np.testing.assert_array_equal(ind.atr(readonly, readonly, readonly), ind.atr(*(strided.copy(),) * 3))


moves = st.lists(st.floats(-0.05, 0.05, allow_nan=False), min_size=0, max_size=300)


@pytest.mark.usefixtures("compiled")
@settings(max_examples=80, deadline=None)
@example(changes=[0.0, -1.192092896e-07, 0.0, 0.046875, 0.046875], period=3, level=1e-4)  # found by CI
@example(changes=[0, 0.03125, -0.0078125, 0, 0, 1e-8], period=4, level=1e-4)  # near-flat: compiled std is 0
@example(changes=[0.0, -0.0078125, -0.01171875, 0.0, 1e-08], period=2, level=1e-4)  # the same, n = 2
@given(changes=moves, period=st.integers(1, 40), level=st.sampled_from([1e-4, 1.0, 250.0, 30_000.0]))
def test_paths_agree_on_random_series(changes: list[float], period: int, level: float) -> None:
    rng = np.random.default_rng(len(changes))
    close = level * np.exp(np.cumsum(np.asarray(changes, dtype=np.float64)))
    spread = close * rng.uniform(0, 0.01, close.size)
    # Moves of up to 5% a step put large distances d (up to the series' range) inside one window. The documented
    # variance bounds (docs/indicators.md) then exceed the default floor: the numpy path's error, 8 eps (L / n)
    # max d**2 with rows of L = max(64, 8 (n - 1)), and the compiled path's flat-window threshold, (n + block + 4)
    # (16 / n + 2) eps max d**2 with blocks of max(32, 8 n), below which it reports std 0 on purpose.
    eps = 2.3e-16
    d2 = float(np.ptp(close)) ** 2 if close.size else 0.0
    numpy_bound = 8 * eps * max(64, 8 * (period - 1)) / period * d2
    flat_threshold = (period + max(32, 8 * period) + 4) * (16 / period + 2) * eps * d2
    check_agree(close + spread, close - spread, close, period, var_atol=numpy_bound + flat_threshold)


# ------------------------------------------------------------------------------------------ non-finite inputs
SINGLE: list[tuple[str, Callable[[Arr], Any]]] = [
    ("sma", lambda x: ind.sma(x, 5)),
    ("ema", lambda x: ind.ema(x, 5)),
    ("rsi", lambda x: ind.rsi(x, 5)),
    ("macd", lambda x: ind.macd(x, 3, 6, 4)),
    ("bollinger", lambda x: ind.bollinger(x, 5)),
    ("zscore", lambda x: ind.zscore(x, 5)),
]


@pytest.fixture(params=["compiled", "numpy"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "numpy":
        monkeypatch.setenv(_backend.DISABLE_ENV, "1")
    else:
        monkeypatch.delenv(_backend.DISABLE_ENV, raising=False)
        if _backend.kernels() is None:
            pytest.skip("numba is not installed")
    yield request.param


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("size", [3, 100])  # shorter than the warm-up; several blocks of the window kernels
@pytest.mark.usefixtures("path")
def test_non_finite_input_found_at_every_index(bad: float, size: int) -> None:
    clean = walk(size, seed=size)[2]
    for name, fn in SINGLE:
        fn(clean)
        for i in range(size):
            x = clean.copy()
            x[i] = bad
            with pytest.raises(ValueError, match=rf"^x must be finite, got {bad} at index {i}$"):
                fn(x)
                pytest.fail(f"{name}: {bad} at index {i} not reported")
    for column, label in enumerate(("high", "low", "close")):
        for i in range(size):
            cols = [clean * 1.001, clean * 0.999, clean.copy()]
            cols[column][i] = bad
            with pytest.raises(ValueError, match=rf"^{label} must be finite, got {bad} at index {i}$"):
                ind.atr(*cols, 5)


# ----------------------------------------------------------------------------------- backend switch and cache
@pytest.mark.parametrize(("value", "off"), [("", False), ("0", False), ("1", True), ("yes", True)])
def test_desk_no_numba_values(value: str, off: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _backend.disabled({_backend.DISABLE_ENV: value}) is off
    assert _backend.disabled({}) is False
    monkeypatch.setenv(_backend.DISABLE_ENV, value)
    if off:
        assert _backend.kernels() is None
    elif _backend.kernels() is None:
        pytest.skip("numba is not installed")
    else:
        assert hasattr(_backend.kernels(), "ema_kernel")


def test_numba_cache_dir(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"DESK_HOME": str(home)}
    writable = tmp_path / "pkg"
    (writable / "__pycache__").mkdir(parents=True)
    assert _backend.numba_cache_dir(writable, env) is None  # numba's default, beside the source
    missing = tmp_path / "zipped" / "desk" / "indicators"  # a package directory that cannot be written
    assert _backend.numba_cache_dir(missing, env) == home / "cache" / "numba"
    assert _backend.numba_cache_dir(missing, {**env, "NUMBA_CACHE_DIR": str(tmp_path / "mine")}) is None


def test_numba_is_imported_on_first_call_only(tmp_path: Path) -> None:
    code = """
import json, os, sys
import desk, desk.indicators as ind
seen = ["numba" in sys.modules]
os.environ["DESK_NO_NUMBA"] = "1"
ind.ema([1.0, 2.0, 3.0], 2)
seen.append("numba" in sys.modules)
del os.environ["DESK_NO_NUMBA"]
ind.ema([1.0, 2.0, 3.0], 2)
seen.append("numba" in sys.modules)
print(json.dumps(seen))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESK_", "NUMBA_"))}
    env["DESK_HOME"] = str(tmp_path / "home")
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen[:2] == [False, False]
    try:
        import numba  # noqa: F401
    except ImportError:
        assert seen[2] is False
    else:
        assert seen[2] is True


def test_kernels_work_without_a_writable_cache(tmp_path: Path) -> None:
    # No cache locator at all (as when every candidate directory is read-only): numba would refuse cache=True.
    code = """
import json
import numpy as np
from numba.core import caching
impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl")  # renamed in numba 0.59
impl._locator_classes = []
from desk.indicators import _backend
import desk.indicators as ind
kernels = _backend.kernels()
x = np.arange(1.0, 41.0)
print(json.dumps({"cached": kernels.CACHED, "sma": ind.sma(x, 4)[-1], "rsi": ind.rsi(x, 14)[-1]}))
"""
    pytest.importorskip("numba")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESK_", "NUMBA_"))}
    env["DESK_HOME"] = str(tmp_path / "home")
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"cached": False, "sma": 38.5, "rsi": 100.0}
