"""Backtest metrics and Monte Carlo cost: summarize() on a 1M-point equity curve with 10k trades, and
resample_trades() with 10k sequences of 1000 trades (the backtest command's default scale), plus a plain-loop
Monte Carlo on the same draws as the reference (1/20 of the sequences, scaled).

Run: .venv/bin/python benchmarks/bench_metrics.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from desk.backtest.metrics import NS_PER_SECOND, Trades, summarize
from desk.backtest.montecarlo import resample_trades


def median_ms(fn: object, repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    rng = np.random.default_rng(3)
    n = 1_000_000
    equity = 10_000.0 * np.exp(np.cumsum(rng.normal(2e-6, 5e-4, n)))
    ts = np.arange(n, dtype=np.int64) * 60 * NS_PER_SECOND
    k = 10_000
    entry = np.sort(rng.integers(0, n - 100, k)) * 60 * NS_PER_SECOND
    rets = rng.normal(0.001, 0.02, k)
    trades = Trades(
        entry, entry + rng.integers(1, 100, k) * 60 * NS_PER_SECOND, np.full(k, 100.0), 100.0 * (1 + rets),
        np.ones(k), np.ones(k, dtype=np.int64), rets * 100.0, rets, np.full(k, 0.1),
    )  # fmt: skip
    ms = median_ms(lambda: summarize(equity, trades, timestamps=ts))
    print(f"summarize: {n:,} equity points, {k:,} trades: {ms:.1f} ms")

    sims, count = 10_000, 1000
    trade_returns = rng.normal(0.002, 0.03, count)
    ms = median_ms(lambda: resample_trades(trade_returns, sims, seed=1), repeats=5)
    print(f"resample_trades: {sims:,} sequences x {count:,} trades: {ms:.1f} ms")

    picks = np.random.default_rng(1).integers(0, count, size=(sims // 20, count))
    start = time.perf_counter()
    for row in picks:
        equity_v, peak, worst = 1.0, 1.0, 0.0
        for i in row:
            equity_v *= 1.0 + trade_returns[i]
            peak = max(peak, equity_v)
            worst = max(worst, 1.0 - equity_v / peak)
    loop_ms = (time.perf_counter() - start) * 1e3 * 20
    print(f"reference plain loop, same size (from 1/20 of it): {loop_ms:.0f} ms ({loop_ms / ms:.0f}x slower)")


if __name__ == "__main__":
    main()
