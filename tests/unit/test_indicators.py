"""Vectorised indicators against hand-computed cases, plain-loop references written here, and TA-Lib.

Every test runs twice: on the compiled kernels (numba) and on the numpy path.

The loop references are deliberately naive (one Python step per value, ``math.fsum`` for window sums) so that they
share nothing with the blocked-matrix implementation under test. TA-Lib comparisons are skipped when it is not
installed; the loop references still pin the conventions (warm-up, seeding, MACD alignment) TA-Lib defines.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pytest

import desk.indicators as ind
from desk.indicators import _backend, _scan

Arr = npt.NDArray[np.float64]
NAN = math.nan


@pytest.fixture(autouse=True, scope="module", params=["compiled", "numpy"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test here runs on both implementations: numba kernels and the numpy path (``DESK_NO_NUMBA``)."""
    with pytest.MonkeyPatch.context() as mp:
        if request.param == "numpy":
            mp.setenv(_backend.DISABLE_ENV, "1")
        else:
            mp.delenv(_backend.DISABLE_ENV, raising=False)
            if _backend.kernels() is None:
                pytest.skip("numba is not installed (pip install desk[fast])")
        yield request.param


# ---------------------------------------------------------------- loop references (TA-Lib's algorithms, literally)
def sma_ref(x: list[float], n: int) -> list[float]:
    return [NAN] * min(n - 1, len(x)) + [math.fsum(x[i - n + 1 : i + 1]) / n for i in range(n - 1, len(x))]


def ema_ref(x: list[float], n: int, start: int | None = None, seed_from: int = 0) -> list[float]:
    """TA-Lib's EMA: SMA seed of x[seed_from : seed_from + n] placed at index seed_from + n - 1 (or ``start``)."""
    out = [NAN] * len(x)
    first = seed_from + n - 1 if start is None else start
    if len(x) <= first:
        return out
    k = 2.0 / (n + 1)
    prev = math.fsum(x[first - n + 1 : first + 1]) / n
    out[first] = prev
    for i in range(first + 1, len(x)):
        prev = (x[i] - prev) * k + prev
        out[i] = prev
    return out


def rsi_ref(x: list[float], n: int) -> list[float]:
    out = [NAN] * len(x)
    if len(x) <= n:
        return out
    gain = loss = 0.0
    for i in range(1, n + 1):
        d = x[i] - x[i - 1]
        if d < 0:
            loss -= d
        else:
            gain += d
    gain /= n
    loss /= n

    def value(g: float, lo: float) -> float:
        return 100.0 * g / (g + lo) if g + lo != 0.0 else 50.0

    out[n] = value(gain, loss)
    for i in range(n + 1, len(x)):
        d = x[i] - x[i - 1]
        gain *= n - 1
        loss *= n - 1
        if d < 0:
            loss -= d
        else:
            gain += d
        gain /= n
        loss /= n
        out[i] = value(gain, loss)
    return out


def macd_ref(x: list[float], fast: int, slow: int, signal: int) -> tuple[list[float], list[float], list[float]]:
    start = slow - 1
    slow_e = ema_ref(x, slow)
    fast_e = ema_ref(x, fast, start=start)  # TA-Lib: the fast EMA also starts at slow - 1
    line = [f - s for f, s in zip(fast_e, slow_e, strict=True)]
    lookback = start + signal - 1
    sig = [NAN] * len(x)
    if len(x) > lookback:
        sig_tail = ema_ref(line[start:], signal)
        sig[start:] = sig_tail
    line = [NAN if i < lookback else v for i, v in enumerate(line)]
    hist = [m - s for m, s in zip(line, sig, strict=True)]
    return line, sig, hist


def window_std_ref(x: list[float], n: int) -> list[float]:
    out = [NAN] * min(n - 1, len(x))
    for i in range(n - 1, len(x)):
        w = x[i - n + 1 : i + 1]
        m = math.fsum(w) / n
        out.append(math.sqrt(math.fsum((v - m) ** 2 for v in w) / n))
    return out


def atr_ref(h: list[float], lo: list[float], c: list[float], n: int) -> list[float]:
    out = [NAN] * len(c)
    if len(c) <= n:
        return out
    tr = [NAN] + [max(h[i] - lo[i], abs(h[i] - c[i - 1]), abs(lo[i] - c[i - 1])) for i in range(1, len(c))]
    prev = math.fsum(tr[1 : n + 1]) / n
    out[n] = prev
    for i in range(n + 1, len(c)):
        prev = (prev * (n - 1) + tr[i]) / n
        out[i] = prev
    return out


def walk(n: int, seed: int = 0, level: float = 1000.0, vol: float = 1e-3) -> Arr:
    rng = np.random.default_rng(seed)
    return level * np.exp(np.cumsum(rng.normal(0.0, vol, n)))


def bars(n: int, seed: int = 0) -> tuple[Arr, Arr, Arr]:
    rng = np.random.default_rng(seed + 1)
    c = walk(n, seed)
    return c * (1 + rng.uniform(0, 2e-3, n)), c * (1 - rng.uniform(0, 2e-3, n)), c


def assert_close(actual: npt.ArrayLike, expected: npt.ArrayLike, rtol: float = 1e-9, atol: float = 0.0) -> None:
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape
    np.testing.assert_array_equal(np.isnan(a), np.isnan(e), err_msg="warm-up NaNs differ")
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True)


# ---------------------------------------------------------------------------------------- hand-computed cases
def test_sma_hand() -> None:
    assert_close(ind.sma([1.0, 2, 3, 4, 5], 3), [NAN, NAN, 2, 3, 4], rtol=1e-15)


def test_ema_hand() -> None:
    # alpha = 2/3; seed (2+4)/2 = 3 at index 1; then 3 + 2/3*(6-3) = 5; 5 + 2/3*(8-5) = 7; 7 + 2/3*(4-7) = 5
    assert_close(ind.ema([2.0, 4, 6, 8, 4], 2), [NAN, 3, 5, 7, 5], rtol=1e-15)


def test_rsi_hand() -> None:
    # moves +1 +1 -1 +1 +1, period 2. Seed at index 2: gain (1+1)/2 = 1, loss 0 -> 100.
    # index 3 (-1): gain (1*1 + 0)/2 = .5, loss (0 + 1)/2 = .5 -> 50
    # index 4 (+1): gain (.5 + 1)/2 = .75, loss .25 -> 75; index 5 (+1): gain .875, loss .125 -> 87.5
    assert_close(ind.rsi([1.0, 2, 3, 2, 3, 4], 2), [NAN, NAN, 100, 50, 75, 87.5], rtol=1e-15)


def test_rsi_flat_is_neutral() -> None:
    # no movement at all: desk says 50 (TA-Lib says 0, see the module docs)
    assert_close(ind.rsi([5.0] * 6, 3), [NAN, NAN, NAN, 50, 50, 50], rtol=0)


def test_macd_hand() -> None:
    # fast 2 (alpha 2/3), slow 3 (alpha 1/2), signal 2 (alpha 2/3), x = 1 2 3 4 6 8.
    # index 2: slow seed (1+2+3)/3 = 2, fast seed (2+3)/2 = 5/2 (TA-Lib alignment) -> line 1/2
    # index 3: fast 5/2 + 2/3*(4 - 5/2) = 7/2, slow 2 + 1/2*(4-2) = 3 -> line 1/2
    # index 4: fast 7/2 + 2/3*(6 - 7/2) = 31/6, slow 3 + 3/2 = 9/2 -> line 2/3
    # index 5: fast 31/6 + 2/3*(8 - 31/6) = 127/18, slow 9/2 + 7/4 = 25/4 -> line 29/36
    # signal seed at index 3: (1/2 + 1/2)/2 = 1/2; index 4: 1/2 + 2/3*(2/3 - 1/2) = 11/18;
    # index 5: 11/18 + 2/3*(29/36 - 11/18) = 20/27. hist: 0, 2/3 - 11/18 = 1/18, 29/36 - 20/27 = 7/108
    line, sig, hist = ind.macd([1.0, 2, 3, 4, 6, 8], 2, 3, 2)
    assert_close(line, [NAN, NAN, NAN, 0.5, 2 / 3, 29 / 36], rtol=1e-14)
    assert_close(sig, [NAN, NAN, NAN, 0.5, 11 / 18, 20 / 27], rtol=1e-14)
    assert_close(hist, [NAN, NAN, NAN, 0, 1 / 18, 7 / 108], rtol=1e-13, atol=1e-15)


def test_bollinger_hand() -> None:
    # windows of 2: [1,2] mean 1.5 std .5; [2,3] 2.5, .5; [3,4] 3.5, .5; one std
    upper, middle, lower = ind.bollinger([1.0, 2, 3, 4], 2, 1.0)
    assert_close(middle, [NAN, 1.5, 2.5, 3.5], rtol=1e-15)
    assert_close(upper, [NAN, 2, 3, 4], rtol=1e-15)
    assert_close(lower, [NAN, 1, 2, 3], rtol=1e-15)


def test_zscore_hand() -> None:
    # [1,2,3]: mean 2, population std sqrt(2/3) -> (3-2)/sqrt(2/3) = sqrt(3/2)
    # [2,3,10]: mean 5, deviations -3 -2 5, variance 38/3 -> 5/sqrt(38/3)
    assert_close(ind.zscore([1.0, 2, 3, 10], 3), [NAN, NAN, math.sqrt(1.5), 5 / math.sqrt(38 / 3)], rtol=1e-13)


def test_atr_hand() -> None:
    # TR1 = max(12-9, |12-9|, |9-9|) = 3; TR2 = max(11-9, |11-11|, |9-11|) = 2; TR3 = max(13-10, |13-10|, 0) = 3
    # ATR(2): index 2 = (3+2)/2 = 2.5; index 3 = (2.5*1 + 3)/2 = 2.75
    out = ind.atr([10.0, 12, 11, 13], [8.0, 9, 9, 10], [9.0, 11, 10, 12], 2)
    assert_close(out, [NAN, NAN, 2.5, 2.75], rtol=1e-15)


# ------------------------------------------------------------------------------ degenerate and bad input
def test_flat_windows_have_zero_std_exactly() -> None:
    x = np.concatenate([walk(300, 3, level=30_000.0), np.full(60, 31_234.57), walk(300, 4, level=31_234.57)])
    upper, middle, lower = ind.bollinger(x, 20)
    flat = slice(300 + 19, 360)
    assert np.all(upper[flat] == middle[flat]) and np.all(lower[flat] == middle[flat])
    np.testing.assert_allclose(middle[flat], 31_234.57, rtol=1e-13)
    z = ind.zscore(x, 20)
    assert np.all(z[flat] == 0.0)
    assert np.all(np.isfinite(z[19:]))


def test_short_inputs_are_all_nan() -> None:
    for fn in (ind.sma, ind.ema, ind.zscore):
        assert np.isnan(fn([1.0, 2.0], 3)).all()
    assert np.isnan(ind.rsi([1.0, 2.0, 3.0], 3)).all()  # the first RSI needs period + 1 values
    assert all(np.isnan(a).all() for a in ind.macd(np.arange(33.0)))  # lookback 26 - 1 + 9 - 1 = 33
    assert not np.isnan(ind.macd(np.arange(34.0))[0][33])
    assert all(np.isnan(a).all() for a in ind.bollinger([1.0], 2))
    assert np.isnan(ind.atr([2.0, 2.0], [1.0, 1.0], [1.5, 1.5], 2)).all()
    assert ind.ema(np.empty(0), 5).shape == (0,)


def test_period_one() -> None:
    x = walk(50)
    assert_close(ind.sma(x, 1), x, rtol=1e-15)
    assert_close(ind.ema(x, 1), x, rtol=1e-15)
    assert np.all(ind.zscore(x, 1) == 0.0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ind.sma([1.0, 2.0], 0), "period must be >= 1"),
        (lambda: ind.ema([1.0, 2.0], 2.5), "period must be an integer"),  # type: ignore[arg-type]
        (lambda: ind.rsi([[1.0, 2.0]], 2), "must be 1-D"),
        (lambda: ind.macd([1.0] * 50, 26, 12), "fast period must be < slow period"),
        (lambda: ind.bollinger([1.0] * 5, 2, -1.0), "num_std"),
        (lambda: ind.atr([1.0, 2.0], [1.0], [1.0, 2.0], 2), "same length"),
        (lambda: ind.SMA(0), "period must be >= 1"),
        (lambda: ind.MACD(5, 5), "fast period must be < slow period"),
        (lambda: ind.ema([1.0, math.nan, 2.0], 2), "x must be finite, got nan at index 1"),
        (lambda: ind.atr([1.0, 2.0], [1.0, -math.inf], [1.0, 2.0], 1), "low must be finite"),
        (lambda: ind.RSI(3).update(math.inf), "must be finite"),
        (lambda: ind.ATR(3).update(1.0, math.nan, 1.0), "must be finite, got nan"),
    ],
)
def test_bad_arguments(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


# ------------------------------------------------------------------------ against the loop references
@pytest.mark.parametrize("n_values", [1, 2, 15, 16, 17, 40, 1000, _scan.CHUNK - 1, _scan.CHUNK + 17, 70_001])
def test_recursive_indicators_match_loops(n_values: int) -> None:
    high, low, close = bars(n_values, seed=n_values)
    x = close.tolist()
    assert_close(ind.ema(close, 10), ema_ref(x, 10))
    assert_close(ind.rsi(close, 14), rsi_ref(x, 14))
    assert_close(ind.atr(high, low, close, 14), atr_ref(high.tolist(), low.tolist(), x, 14))
    for got, want in zip(ind.macd(close, 12, 26, 9), macd_ref(x, 12, 26, 9), strict=True):
        assert_close(got, want, atol=1e-12 * 1000)  # MACD crosses 0: absolute tolerance at the price's 1e-12


@pytest.mark.parametrize("period", [1, 2, 3, 5, 20, 50, 300])
@pytest.mark.parametrize("n_values", [1, 19, 20, 21, 257, 5003, 60_007])
def test_window_indicators_match_two_pass(period: int, n_values: int) -> None:
    x = walk(n_values, seed=period * 7 + n_values, level=30_000.0)
    if n_values < 2000:
        mean = sma_ref(x.tolist(), period)
        std = window_std_ref(x.tolist(), period)
    else:  # independent vectorised two-pass reference (numpy pairwise sums), much faster than fsum loops
        w = np.lib.stride_tricks.sliding_window_view(x, period)
        m = w.mean(axis=1)
        s = np.sqrt(((w - m[:, None]) ** 2).mean(axis=1))
        mean = np.concatenate([np.full(period - 1, np.nan), m]).tolist()
        std = np.concatenate([np.full(period - 1, np.nan), s]).tolist()
    assert_close(ind.sma(x, period), mean, rtol=1e-12)
    upper, middle, lower = ind.bollinger(x, period, 2.5)
    assert_close(middle, mean, rtol=1e-12)
    # Variance to 1e-9 relative, or 1e-18 of price**2 absolute: the documented rounding bound of the row method
    # (~8 eps (L/n) max d**2, see desk.indicators._rolling); windows of 2-3 nearly equal prices need the floor.
    std_a = np.asarray(std)
    var_ref = std_a**2
    for band in (upper - middle, middle - lower):
        assert_close((band / 2.5) ** 2, var_ref, rtol=1e-9, atol=1e-18 * 30_000.0**2)
    z = ind.zscore(x, period)
    with np.errstate(invalid="ignore", divide="ignore"):
        z_ref = np.where(std_a > 0, (x - np.asarray(mean)) / std_a, np.where(np.isnan(std_a), np.nan, 0.0))
    if period >= 5:  # z of 2-3 value windows amplifies the price's rounding noise: checked elsewhere
        assert_close(z, z_ref, rtol=1e-8, atol=1e-8)


@functools.cache
def million_refs() -> dict[str, list[float] | tuple[list[float], list[float], list[float]]]:
    """Loop references over 1M points, computed once for both paths (they take seconds)."""
    high, low, close = bars(1_000_000, seed=11)
    x = close.tolist()
    return {
        "ema": ema_ref(x, 20),
        "rsi": rsi_ref(x, 14),
        "atr": atr_ref(high.tolist(), low.tolist(), x, 14),
        "macd": macd_ref(x, 12, 26, 9),
    }


def test_million_points_within_1e9_of_loops() -> None:
    # The precision bar: 1e-9 relative of a plain loop over 1M points, for the recursive indicators.
    high, low, close = bars(1_000_000, seed=11)
    refs = million_refs()
    assert_close(ind.ema(close, 20), refs["ema"])
    assert_close(ind.rsi(close, 14), refs["rsi"])
    assert_close(ind.atr(high, low, close, 14), refs["atr"])
    for got, want in zip(ind.macd(close), refs["macd"], strict=True):
        assert_close(got, want, atol=1e-12 * float(close.max()))  # MACD crosses 0: tolerance at the price


# ---------------------------------------------------------------------------------------------- TA-Lib


@pytest.fixture(scope="module")
def ta() -> object:
    return pytest.importorskip("talib")


@pytest.mark.parametrize("n_values", [30, 500, 100_003])
def test_matches_talib(ta: object, n_values: int) -> None:
    high, low, close = bars(n_values, seed=n_values + 5)
    t = ta
    assert_close(ind.sma(close, 20), t.SMA(close, 20), rtol=1e-10)  # type: ignore[attr-defined]
    assert_close(ind.ema(close, 20), t.EMA(close, 20))  # type: ignore[attr-defined]
    assert_close(ind.ema(close, 2), t.EMA(close, 2))  # type: ignore[attr-defined]
    assert_close(ind.rsi(close, 14), t.RSI(close, 14))  # type: ignore[attr-defined]
    assert_close(ind.rsi(close, 2), t.RSI(close, 2))  # type: ignore[attr-defined]
    assert_close(ind.atr(high, low, close, 14), t.ATR(high, low, close, 14))  # type: ignore[attr-defined]
    assert_close(ind.atr(high, low, close, 1), t.ATR(high, low, close, 1))  # type: ignore[attr-defined]
    for fast, slow, sig in ((12, 26, 9), (3, 10, 16), (5, 6, 1)):
        ours = ind.macd(close, fast, slow, sig)
        theirs = t.MACD(close, fast, slow, sig)  # type: ignore[attr-defined]
        for a, b in zip(ours, theirs, strict=True):
            assert_close(a, b, atol=1e-12 * 1000)
    # TA-Lib's BBANDS uses E[x^2] - E[x]^2 on running sums, good to ~1e-10 of the std at this price level
    ours_bb = ind.bollinger(close, 20, 2.0)
    theirs_bb = t.BBANDS(close, 20, 2.0, 2.0)  # type: ignore[attr-defined]
    for a, b in zip(ours_bb, theirs_bb, strict=True):
        assert_close(a, b, rtol=1e-10)
    assert_close(ours_bb[0] - ours_bb[1], theirs_bb[0] - theirs_bb[1], rtol=1e-6)
