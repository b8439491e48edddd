"""Streaming indicators give, tick by tick, the numbers the vectorised functions give (to 1e-9 relative).

Every test runs twice: against the compiled kernels (numba) and against the numpy path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import desk.indicators as ind
from desk.indicators import _backend

Arr = npt.NDArray[np.float64]


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


def replay(stream: Any, *columns: Sequence[float]) -> list[Any]:
    """Feeds the stream tick by tick; checks ``value``/``ready`` agree with each update's result."""
    out = []
    for values in zip(*columns, strict=True):
        result = stream.update(*values)
        assert stream.value == result
        assert stream.ready == (result is not None)
        out.append(result)
    return out


def as_columns(results: list[Any], width: int) -> list[Arr]:
    """None -> NaN; tuples -> one column each."""
    if width == 1:
        return [np.array([np.nan if r is None else r for r in results], dtype=np.float64)]
    return [np.array([np.nan if r is None else r[i] for r in results], dtype=np.float64) for i in range(width)]


def check(
    stream: Any,
    vectorised: Callable[..., Any],
    inputs: Sequence[Arr],
    width: int = 1,
    atol: float = 0.0,
) -> None:
    got = as_columns(replay(stream, *[a.tolist() for a in inputs]), width)
    want = vectorised(*inputs)
    want = list(want) if isinstance(want, tuple) else [want]
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w), err_msg="warm-up differs")
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=atol, equal_nan=True)


def check_all(close: Arr, high: Arr, low: Arr, period: int) -> None:
    scale = float(np.max(np.abs(close))) if close.size else 1.0
    check(ind.SMA(period), lambda x: ind.sma(x, period), [close])
    check(ind.EMA(period), lambda x: ind.ema(x, period), [close])
    check(ind.RSI(period), lambda x: ind.rsi(x, period), [close], atol=1e-9)
    check(ind.ATR(period), lambda h, lo, c: ind.atr(h, lo, c, period), [high, low, close], atol=1e-12 * scale)
    fast, slow = max(1, period // 2), period + 1
    check(
        ind.MACD(fast, slow, period),
        lambda x: ind.macd(x, fast, slow, period),
        [close],
        width=3,
        atol=1e-11 * scale,  # MACD values cross zero: absolute tolerance at the price's rounding level
    )
    check(ind.Bollinger(period, 2.0), lambda x: ind.bollinger(x, period, 2.0), [close], width=3, atol=2e-9 * scale)
    # The band width on its own: variance to 1e-9 relative or 1e-18 of price**2 (the documented rounding bound).
    boll = ind.Bollinger(period, 1.0)
    widths = [np.nan if b is None else b[0] - b[1] for b in (boll.update(v) for v in close.tolist())]
    upper, middle, _ = ind.bollinger(close, period, 1.0)
    np.testing.assert_allclose(np.square(widths), np.square(upper - middle), rtol=1e-9, atol=1e-18 * scale**2)


def test_zscore_stream_matches() -> None:
    rng = np.random.default_rng(5)
    x = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, 5000)))
    check(ind.ZScore(20), lambda v: ind.zscore(v, 20), [x], atol=1e-8)


prices = st.lists(st.floats(-0.05, 0.05, allow_nan=False), min_size=0, max_size=400)


@settings(max_examples=60, deadline=None)
@given(moves=prices, period=st.integers(1, 40), level=st.sampled_from([1e-4, 1.0, 250.0, 30_000.0]))
def test_random_series(moves: list[float], period: int, level: float) -> None:
    rng = np.random.default_rng(len(moves))
    close = level * np.exp(np.cumsum(np.asarray(moves, dtype=np.float64)))
    spread = close * rng.uniform(0, 0.01, close.size)
    check_all(close, close + spread, close - spread, period)


@pytest.mark.parametrize("period", [2, 14, 50])
def test_long_series(period: int) -> None:
    rng = np.random.default_rng(period)
    n = 100_000
    close = 30_000.0 * np.exp(np.cumsum(rng.normal(0, 1e-3, n)))
    spread = close * rng.uniform(0, 2e-3, n)
    check_all(close, close + spread, close - spread, period)


def test_flat_stretch_gives_exact_zero_width_and_zero_z() -> None:
    x = [100.0 + 0.5 * i for i in range(30)] + [117.3] * 40
    boll = ind.Bollinger(10)
    z = ind.ZScore(10)
    for v in x:
        band = boll.update(v)
        score = z.update(v)
    assert band is not None and band[0] == band[1] == band[2]
    assert score == 0.0


def test_rsi_flat_and_macd_warmup() -> None:
    r = ind.RSI(3)
    assert [r.update(5.0) for _ in range(5)] == [None, None, None, 50.0, 50.0]
    m = ind.MACD(2, 3, 2)
    results = [m.update(v) for v in [1.0, 2, 3, 4, 6, 8]]
    assert results[:3] == [None, None, None]
    assert results[3] == pytest.approx((0.5, 0.5, 0.0))
    assert results[5] == pytest.approx((29 / 36, 20 / 27, 7 / 108))  # hand-computed in test_indicators.py
