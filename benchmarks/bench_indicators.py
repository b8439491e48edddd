"""Indicators on 1M closes: desk (pure numpy) vs TA-Lib (C), side by side in one run, plus streaming cost a tick.

Each function is timed REPEATS times, desk and TA-Lib interleaved so that both see the same machine load; the
figures are the median and the minimum in milliseconds, and the ratios desk / TA-Lib of the medians and of the
minimums (the minimum is the least disturbed by other processes on a shared machine). Target
(issue 3): ratio <= 2 for RSI, EMA, MACD and BBANDS. Also printed: the largest difference from TA-Lib relative to
the price level (agreement check) and, for the streaming classes, the cost of one ``update`` (mean over 200k
ticks). Without TA-Lib installed only desk's figures are printed.

Run: .venv/bin/python benchmarks/bench_indicators.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import desk.indicators as ind

N = 1_000_000
REPEATS = 25
TICKS = 200_000

try:
    import talib
except ImportError:  # the bench extra installs it; without it, desk's own figures are still useful
    talib = None


def make_data(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 30_000.0 * np.exp(np.cumsum(rng.normal(0.0, 4e-4, n)))
    spread = close * rng.uniform(0.0, 8e-4, n)
    return close + spread, close - spread, close


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def main() -> None:
    high, low, close = make_data(N)
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any] | None, bool]] = [
        # name, desk, TA-Lib, in the target list
        ("EMA(20)", lambda: ind.ema(close, 20), talib and (lambda: talib.EMA(close, 20)), True),
        ("RSI(14)", lambda: ind.rsi(close, 14), talib and (lambda: talib.RSI(close, 14)), True),
        ("MACD(12,26,9)", lambda: ind.macd(close), talib and (lambda: talib.MACD(close, 12, 26, 9)), True),
        (
            "BBANDS(20,2)",
            lambda: ind.bollinger(close, 20, 2.0),
            talib and (lambda: talib.BBANDS(close, 20, 2, 2)),
            True,
        ),
        ("SMA(20)", lambda: ind.sma(close, 20), talib and (lambda: talib.SMA(close, 20)), False),
        ("ATR(14)", lambda: ind.atr(high, low, close, 14), talib and (lambda: talib.ATR(high, low, close, 14)), False),
        ("ZSCORE(20)", lambda: ind.zscore(close, 20), None, False),
    ]
    print(f"{N:,} closes, {REPEATS} runs each (desk and TA-Lib interleaved); times in ms")
    print(
        f"{'indicator':15} {'desk med':>9} {'desk min':>9} {'talib med':>10} {'talib min':>10} {'ratio':>6} "
        f"{'min ratio':>9}  {'max |diff|/price':>16}"
    )
    for name, mine, ref, target in cases:
        mine()
        if ref is not None:
            ref()
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(REPEATS):
            ours.append(timed(mine))
            if ref is not None:
                theirs.append(timed(ref))
        med = statistics.median(ours)
        line = f"{name:15} {med:9.2f} {min(ours):9.2f}"
        if ref is not None:
            ref_med = statistics.median(theirs)
            a = mine()
            b = ref()
            pairs = zip(a, b, strict=True) if isinstance(a, tuple) else [(a, b)]
            diff = max(float(np.nanmax(np.abs(p - q) / close)) for p, q in pairs)
            flag = ("  <= 2x" if med / ref_med <= 2.0 else "  OVER 2x") if target else ""
            line += f" {ref_med:10.2f} {min(theirs):10.2f} {med / ref_med:6.2f} {min(ours) / min(theirs):9.2f}"
            line += f"  {diff:16.2e}{flag}"
        print(line)

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


if __name__ == "__main__":
    main()
