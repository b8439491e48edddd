"""Indicators on 1M closes: desk's numba kernels, desk's numpy path and TA-Lib (C), side by side in one run.

Each function is timed REPEATS times, the three implementations interleaved so that they see the same machine
load; printed are the minimum and the median in milliseconds and the ratios desk / TA-Lib of both (the minimum
is the least disturbed by other processes on a shared machine). Target (issue 3): ratio <= 2 for RSI, EMA, MACD
and BBANDS. Also printed: the largest difference between desk and TA-Lib relative to the price level, the cost
of one call on 200 values (what a strategy pays per bar), the one-off costs of the numba path (``import numba``
and the first call of each kernel, with a cold and a warm on-disk cache, each in a fresh interpreter), and the
streaming classes' cost a tick. Without TA-Lib or numba the corresponding columns are left out.

Run: .venv/bin/python benchmarks/bench_indicators.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import desk.indicators as ind
from desk.indicators import _backend

N = 1_000_000
REPEATS = 41
SMALL = 200
SMALL_CALLS = 2000
TICKS = 200_000
TARGETS = ("EMA(20)", "RSI(14)", "MACD(12,26,9)", "BBANDS(20,2)")

try:
    import talib
except ImportError:  # the bench extra installs it; without it, desk's own figures are still useful
    talib = None


def make_data(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 30_000.0 * np.exp(np.cumsum(rng.normal(0.0, 4e-4, n)))
    spread = close * rng.uniform(0.0, 8e-4, n)
    return close + spread, close - spread, close


def on_path(numpy_path: bool, fn: Callable[[], Any]) -> Any:
    """``fn()`` with the numba kernels, or with the numpy path (``DESK_NO_NUMBA=1``)."""
    if numpy_path:
        os.environ[_backend.DISABLE_ENV] = "1"
    else:
        os.environ.pop(_backend.DISABLE_ENV, None)
    try:
        return fn()
    finally:
        os.environ.pop(_backend.DISABLE_ENV, None)


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def as_list(result: Any) -> list[np.ndarray]:
    return list(result) if isinstance(result, tuple) else [result]


def compare(have_numba: bool, high: np.ndarray, low: np.ndarray, close: np.ndarray) -> dict[str, float]:
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any] | None]] = [
        ("EMA(20)", lambda: ind.ema(close, 20), talib and (lambda: talib.EMA(close, 20))),
        ("RSI(14)", lambda: ind.rsi(close, 14), talib and (lambda: talib.RSI(close, 14))),
        ("MACD(12,26,9)", lambda: ind.macd(close), talib and (lambda: talib.MACD(close, 12, 26, 9))),
        ("BBANDS(20,2)", lambda: ind.bollinger(close, 20, 2.0), talib and (lambda: talib.BBANDS(close, 20, 2, 2))),
        ("SMA(20)", lambda: ind.sma(close, 20), talib and (lambda: talib.SMA(close, 20))),
        ("ATR(14)", lambda: ind.atr(high, low, close, 14), talib and (lambda: talib.ATR(high, low, close, 14))),
        ("ZSCORE(20)", lambda: ind.zscore(close, 20), None),
    ]
    paths = (["numba"] if have_numba else []) + ["numpy"]
    print(f"{N:,} closes, {REPEATS} runs of each implementation, interleaved; times in ms (min / median)")
    header = f"{'indicator':14}"
    for p in paths:
        header += f" {'desk-' + p:>15}"
    if talib is not None:
        header += f" {'TA-Lib':>15}"
        for p in paths:
            header += f" {p + '/TA-Lib':>13}"
        header += f" {'max |diff|/price':>17}"
    print(header)
    ratios: dict[str, float] = {}
    for name, mine, ref in cases:
        runs: dict[str, list[float]] = {p: [] for p in paths}
        ref_runs: list[float] = []
        for p in paths:  # warm-up (compilation, page faults of the first buffers)
            on_path(p == "numpy", mine)
        if ref is not None:
            ref()
        for _ in range(REPEATS):
            for p in paths:
                runs[p].append(timed(lambda p=p, mine=mine: on_path(p == "numpy", mine)))  # type: ignore[misc]
            if ref is not None:
                ref_runs.append(timed(ref))
        line = f"{name:14}"
        for p in paths:
            line += f" {min(runs[p]):6.2f} / {statistics.median(runs[p]):6.2f}"
        if ref is not None:
            ref_min, ref_med = min(ref_runs), statistics.median(ref_runs)
            line += f" {ref_min:6.2f} / {ref_med:6.2f}"
            for p in paths:
                r_min = min(runs[p]) / ref_min
                r_med = statistics.median(runs[p]) / ref_med
                line += f" {r_min:5.2f} / {r_med:5.2f}"
                if p == paths[0]:
                    ratios[name] = r_min
            ours = as_list(on_path(False, mine))
            theirs = as_list(ref())
            diff = max(float(np.nanmax(np.abs(a - b) / close)) for a, b in zip(ours, theirs, strict=True))
            line += f" {diff:17.2e}"
        print(line)
    return ratios


def small_calls(have_numba: bool, close: np.ndarray) -> None:
    x = close[:SMALL].copy()
    print(f"\none call on {SMALL} closes (a strategy's per-bar cost), mean over {SMALL_CALLS} calls, us")
    cases = [
        ("rsi(14)", lambda: ind.rsi(x, 14)),
        ("zscore(20)", lambda: ind.zscore(x, 20)),
        ("macd()", lambda: ind.macd(x)),
        ("bollinger(20)", lambda: ind.bollinger(x, 20)),
    ]
    for name, fn in cases:
        line = f"  {name:14}"
        for p in (["numba"] if have_numba else []) + ["numpy"]:

            def loop(fn: Callable[[], Any] = fn) -> None:
                for _ in range(SMALL_CALLS):
                    fn()

            on_path(p == "numpy", fn)
            line += f"  desk-{p} {on_path(p == 'numpy', lambda loop=loop: timed(loop)) / SMALL_CALLS * 1e3:6.1f}"  # type: ignore[misc]
        print(line)


_STARTUP = """
import json, time
t0 = time.perf_counter()
import desk.indicators as ind
t1 = time.perf_counter()
import numba
t2 = time.perf_counter()
import numpy as np
x = np.linspace(100.0, 200.0, 500)
calls = [("ema", lambda: ind.ema(x, 20)), ("rsi", lambda: ind.rsi(x, 14)), ("macd", lambda: ind.macd(x)),
         ("bollinger", lambda: ind.bollinger(x, 20)), ("sma", lambda: ind.sma(x, 20)),
         ("zscore", lambda: ind.zscore(x, 20)), ("atr", lambda: ind.atr(x + 1, x - 1, x, 14))]
first = {}
for name, fn in calls:
    s = time.perf_counter(); fn(); first[name] = time.perf_counter() - s
print(json.dumps({"import_desk_indicators": t1 - t0, "import_numba": t2 - t1, "first_call": first}))
"""


def startup_costs() -> None:
    print("\none-off costs of the numba path, each in a fresh interpreter, s")
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != _backend.DISABLE_ENV}
        env["NUMBA_CACHE_DIR"] = cache
        for label in ("cold cache (compiles)", "warm cache (loads)"):
            result = subprocess.run([sys.executable, "-c", _STARTUP], capture_output=True, text=True, env=env)
            if result.returncode != 0:
                print(f"  {label}: failed: {result.stderr.strip().splitlines()[-1]}")
                return
            fig = json.loads(result.stdout.strip().splitlines()[-1])
            firsts = fig["first_call"]
            total = sum(firsts.values())
            each = ", ".join(f"{k} {v:.2f}" for k, v in firsts.items())
            print(
                f"  {label:22} import desk.indicators {fig['import_desk_indicators']:.3f}, import numba "
                f"{fig['import_numba']:.2f}, first calls {total:.2f} ({each})"
            )


def streaming(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> None:
    print(f"\nstreaming: mean cost of one update over {TICKS:,} ticks")
    values = close[:TICKS].tolist()
    highs = high[:TICKS].tolist()
    lows = low[:TICKS].tolist()
    streams: list[tuple[str, Any]] = [
        ("SMA(20)", ind.SMA(20)),
        ("EMA(20)", ind.EMA(20)),
        ("RSI(14)", ind.RSI(14)),
        ("MACD(12,26,9)", ind.MACD()),
        ("Bollinger(20,2)", ind.Bollinger(20, 2.0)),
        ("ZScore(20)", ind.ZScore(20)),
    ]
    for name, stream in streams:
        update = stream.update
        start = time.perf_counter()
        for v in values:
            update(v)
        per_tick = (time.perf_counter() - start) / TICKS * 1e9
        print(f"  {name:16} {per_tick:7.0f} ns/tick")
    atr_stream = ind.ATR(14)
    update3 = atr_stream.update
    start = time.perf_counter()
    for h, lo, c in zip(highs, lows, values, strict=True):
        update3(h, lo, c)
    print(f"  {'ATR(14)':16} {(time.perf_counter() - start) / TICKS * 1e9:7.0f} ns/tick")


def main() -> None:
    os.environ.pop(_backend.DISABLE_ENV, None)
    have_numba = _backend.kernels() is not None
    if not have_numba:
        print("numba is not installed (pip install desk[fast]): numpy path only\n")
    high, low, close = make_data(N)
    ratios = compare(have_numba, high, low, close)
    if ratios:
        path = "numba" if have_numba else "numpy"
        verdicts = ", ".join(
            f"{name} {ratios[name]:.2f}x {'within' if ratios[name] <= 2.0 else 'OVER'} 2x" for name in TARGETS
        )
        print(f"\ntarget (desk-{path} min / TA-Lib min <= 2): {verdicts}")
    small_calls(have_numba, close)
    if have_numba:
        startup_costs()
    streaming(high, low, close)


if __name__ == "__main__":
    main()
