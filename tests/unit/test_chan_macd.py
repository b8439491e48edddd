"""MACD convention (TA-Lib TA_MACD) against a plain reference, TA-Lib itself, presets and the runtime switch."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desk.chan import OHLC, BarArrays, ChanAnalyzer, ChanConfig, MacdPreset, MacdStream, analyze, load_presets
from desk.chan.macd import preset


def reference_macd(close: np.ndarray, fast: int, slow: int, signal: int) -> tuple[np.ndarray, np.ndarray]:
    """Straight from the definition: SMA-seeded EMAs, both starting at bar slow-1, DEA seeded on DIF."""

    def ema(values: np.ndarray, period: int, seed_from: int, first_out: int) -> np.ndarray:
        k = 2.0 / (period + 1)
        out = np.full(len(values), np.nan)
        level = float(np.mean(values[seed_from : seed_from + period]))
        out[first_out] = level
        for t in range(first_out + 1, len(values)):
            level = level + k * (values[t] - level)
            out[t] = level
        return out

    n = len(close)
    dif = np.full(n, np.nan)
    hist = np.full(n, np.nan)
    if n < slow:
        return dif, hist
    dif = ema(close, fast, slow - fast, slow - 1) - ema(close, slow, 0, slow - 1)
    if n < slow + signal - 1:
        return dif, hist
    dea = ema(np.nan_to_num(dif), signal, slow - 1, slow + signal - 2)
    return dif, dif - dea


def walk(n: int, seed: int) -> np.ndarray:
    return 100 + np.cumsum(np.random.default_rng(seed).normal(size=n))


def test_presets_from_config_file() -> None:
    got = {name: (p.fast, p.slow, p.signal) for name, p in load_presets().items()}
    assert got == {"standard": (12, 26, 9), "fast": (8, 17, 9), "slow": (19, 39, 9), "scalping": (6, 13, 5)}
    with pytest.raises(ValueError, match="unknown MACD preset 'nope'"):
        preset("nope")


def test_bad_preset_file_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "chan.toml"
    bad.write_text("[macd.x]\nfast = 30\nslow = 26\nsignal = 9\n")
    with pytest.raises(RuntimeError, match="fast < slow"):
        load_presets(bad)


@pytest.mark.parametrize("name", ["standard", "fast", "slow", "scalping"])
def test_matches_reference_and_warmup(name: str) -> None:
    p = preset(name)
    close = walk(400, 1)
    _, dif, hist = MacdStream.run(p, close.tolist())
    ref_dif, ref_hist = reference_macd(close, p.fast, p.slow, p.signal)
    assert np.isnan(dif[: p.slow - 1]).all() and not math.isnan(dif[p.slow - 1])
    assert np.isnan(hist[: p.warmup]).all() and not math.isnan(hist[p.warmup])
    np.testing.assert_allclose(dif[p.slow - 1 :], ref_dif[p.slow - 1 :], rtol=0, atol=1e-9)
    np.testing.assert_allclose(hist[p.warmup :], ref_hist[p.warmup :], rtol=0, atol=1e-9)


def test_matches_talib() -> None:
    talib = pytest.importorskip("talib")
    close = walk(1000, 2)
    for p in load_presets().values():
        _, dif, hist = MacdStream.run(p, close.tolist())
        t_dif, _t_dea, t_hist = talib.MACD(close, p.fast, p.slow, p.signal)
        ok = ~np.isnan(t_hist)
        assert int(np.argmax(ok)) == p.warmup
        np.testing.assert_allclose(np.asarray(dif)[ok], t_dif[ok], rtol=0, atol=1e-9)
        np.testing.assert_allclose(np.asarray(hist)[ok], t_hist[ok], rtol=0, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-1e3, 1e3, allow_nan=False), max_size=60),
    st.integers(1, 6),
    st.integers(1, 8),
    st.integers(1, 5),
)
def test_stream_equals_batch_bit_for_bit(values: list[float], fast: int, extra: int, signal: int) -> None:
    p = MacdPreset("t", fast, fast + extra, signal)
    stream = MacdStream(p)
    pushed = [stream.push(v) for v in values]
    _, dif, hist = MacdStream.run(p, values)
    assert [repr(x[0]) for x in pushed] == [repr(x) for x in dif]
    assert [repr(x[2]) for x in pushed] == [repr(x) for x in hist]


def test_preset_switch_at_runtime_equals_a_fresh_batch() -> None:
    close = walk(300, 3)
    hi, lo = close + 0.7, close - 0.7
    bars = BarArrays(ts=np.arange(300), open=close, high=hi, low=lo, close=close)
    an = ChanAnalyzer(ChanConfig(macd="standard"))
    for i in range(200):
        an.update(OHLC(i, close[i], hi[i], lo[i], close[i]))
    an.set_macd("scalping")
    for i in range(200, 300):
        state = an.update(OHLC(i, close[i], hi[i], lo[i], close[i]))
    batch = analyze(bars, ChanConfig(macd="scalping"))
    assert state.macd_preset == "scalping"
    assert list(state.pen_divergences) == list(batch.pen_divergences)
    assert list(state.segment_divergences) == list(batch.segment_divergences)
    with pytest.raises(ValueError, match="unknown MACD preset"):
        an.set_macd("bogus")
