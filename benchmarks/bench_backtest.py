"""Backtest throughput side by side, in one run, on the same seeded 1-minute GBM bars.

1. Event-driven: SMA 10/50 (long only, all in, no fees) through the full TradingDesk (engine, paper broker with
   the bar-fill model, runner, portfolio) vs backtesting.py's ``Backtest.run`` with the same rules (next-open
   fills, exclusive orders), ``--repeat`` times each, alternating, compared on the best process CPU time of each
   (a shared machine's noise only ever adds time). Target: >= 2x backtesting.py. Then where the event-driven
   time goes, layer by layer.
2. Vectorised: ``vector_targets`` + ``simulate`` (and the full ``run_backtest`` with metrics) vs vectorbt's
   ``Portfolio.from_signals`` (after numba compilation). Target: >= 1x vectorbt.
3. Sweep memory: a vectorised sweep on 10M bars on 2 worker processes; peak RSS of the parent and of the
   largest worker (the bars are memory-mapped, so workers share them).

    .venv/bin/python benchmarks/bench_backtest.py [--bars 1000000] [--repeat 3] [--sweep-bars 10000000]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import threading
import time
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desk.backtest.data import OHLCV, from_arrays
from desk.backtest.engine import run_backtest
from desk.domain.instruments import Instrument
from desk.strategies.base import Strategy

os.environ.setdefault("TQDM_DISABLE", "1")  # backtesting.py's progress bar would interleave with the figures
NS = 1_000_000_000
PARAMS = {"fast": 10, "slow": 50, "position_size": 1.0}


def gbm(n: int, seed: int = 42) -> OHLCV:
    rng = np.random.default_rng(seed)
    close = 30_000 * np.exp(np.cumsum(rng.normal(0, 0.0008, n)))
    opens = np.r_[30_000.0, close[:-1]] * np.exp(rng.normal(0, 0.0002, n))
    high = np.maximum(opens, close) * (1 + np.abs(rng.normal(0, 0.0005, n)))
    low = np.minimum(opens, close) * (1 - np.abs(rng.normal(0, 0.0005, n)))
    ts = 1_600_000_000 * NS + np.arange(n, dtype=np.int64) * 60 * NS
    inst = Instrument("BTC-USD", Decimal("0.01"), Decimal("0.00001"))
    return from_arrays("BTC-USD", inst, ts, opens, high, low, close, np.ones(n))


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds / 1e6:6.3f} M bars/s ({seconds:6.2f} s)"


def timed(fn: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


# --- 1. event-driven ---------------------------------------------------------------------------------------------
def cpu_timed(fn: Any) -> tuple[Any, float, float]:
    """``(result, process CPU seconds, wall seconds)``: on a shared machine the CPU time is the steadier figure."""
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c0, time.perf_counter() - w0


def bench_event(data: OHLCV, repeat: int) -> None:
    n = len(data)
    print(f"\n== Event-driven SMA {PARAMS['fast']}/{PARAMS['slow']} on {n:,} 1-minute bars")
    print(f"   {repeat} runs each, alternating desk and backtesting.py; best of each (process CPU time, then wall)")
    desk_cpu: list[float] = []
    bt_cpu: list[float] = []
    for i in range(repeat):
        result, cpu, wall = cpu_timed(lambda: run_backtest("ma_crossover", data, PARAMS, monte_carlo=0, mode="event"))
        desk_cpu.append(cpu)
        print(
            f"desk (full TradingDesk)     {rate(n, cpu)} wall {wall:5.2f} s  "
            f"trades {result.metrics['trades']}, return {result.final_return:+.4f}"
        )
        bt = bench_backtesting_py(data, quiet=i > 0)
        if bt is None:
            break
        bt_cpu.append(bt)
    if bt_cpu:
        ratio = min(bt_cpu) / min(desk_cpu)
        verdict = "met" if ratio >= 2 else "NOT met"
        pairs = " ".join(f"{b / d:.2f}" for d, b in zip(desk_cpu, bt_cpu, strict=False))
        best = f"best of {len(bt_cpu)}"
        print(f"desk / backtesting.py       {ratio:5.2f}x {best} (target >= 2x: {verdict}); run by run {pairs}")
    breakdown(data)


def bench_backtesting_py(data: OHLCV, *, quiet: bool = False) -> float | None:
    """CPU seconds of ``Backtest.run`` (None when backtesting.py is not installed)."""
    try:
        import pandas as pd
        from backtesting import Backtest, Strategy
        from backtesting.lib import crossover
    except ImportError:
        if not quiet:
            print("backtesting.py               not installed (pip install 'desk[bench]')")
        return None

    def sma(values: Any, n: int) -> Any:
        return pd.Series(values).rolling(n).mean()

    class SmaCross(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.fast = self.I(sma, self.data.Close, PARAMS["fast"])
            self.slow = self.I(sma, self.data.Close, PARAMS["slow"])

        def next(self) -> None:
            if crossover(self.fast, self.slow):
                self.buy()
            elif crossover(self.slow, self.fast):
                self.position.close()

    frame = pd.DataFrame(
        {
            "Open": data.prices("open"),
            "High": data.prices("high"),
            "Low": data.prices("low"),
            "Close": data.prices("close"),
            "Volume": data.volume.astype(float),
        },
        index=pd.to_datetime(data.ts_ns, utc=True),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Whole units only in backtesting.py: enough cash that "all in" is never rounded to zero.
        bt = Backtest(frame, SmaCross, cash=100_000_000, commission=0.0, exclusive_orders=True, finalize_trades=True)
        stats, cpu, wall = cpu_timed(bt.run)
    print(
        f"backtesting.py {_version('backtesting'):<12} {rate(len(data), cpu)} wall {wall:5.2f} s  "
        f"trades {stats['# Trades']}"
    )
    return cpu


def breakdown(data: OHLCV) -> None:
    """CPU cost per bar of each layer the event-driven run adds, measured by switching layers on one at a time."""
    from desk.domain.events import Bar
    from desk.engine import Engine
    from desk.trading import TradingDesk

    n = min(len(data), 300_000)
    part = data.slice(0, n)
    inst = {part.symbol: part.instrument}
    stages: list[tuple[str, float]] = []

    def make_bars() -> None:
        for _ in part.bars():
            pass

    stages.append(("Bar events from the columns", cpu_timed(make_bars)[1]))

    def engine_only() -> None:
        engine = Engine(inst, "backtest")
        on_events = engine.on_events
        for bar in part.bars():
            on_events((bar,))

    stages.append(("+ Engine.on_events (no listeners)", cpu_timed(engine_only)[1]))

    def desk_idle() -> None:
        desk = TradingDesk(inst, venue="backtest", equity_sample_s=1e9, id_prefix="b")
        on_events = desk.engine.on_events
        for bar in part.bars():
            on_events((bar,))

    stages.append(("+ TradingDesk listeners, no strategy", cpu_timed(desk_idle)[1]))

    def idle_strategy() -> None:
        desk = TradingDesk(inst, venue="backtest", equity_sample_s=1e9, id_prefix="b")
        key = desk.runner.add("__main__:Idle", part.symbol, bar_seconds=part.timeframe_s).key
        desk.runner.start(key)
        on_events = desk.engine.on_events
        for bar in part.bars():
            on_events((bar,))

    stages.append(("+ runner dispatch to a strategy doing nothing", cpu_timed(idle_strategy)[1]))

    def with_strategy() -> None:
        run_backtest("ma_crossover", part, PARAMS, monte_carlo=0, mode="event")

    stages.append(("+ ma_crossover logic, fills, equity tape, metrics", cpu_timed(with_strategy)[1]))
    print(f"where the time goes ({n:,} bars; cumulative us/bar, then each layer's own cost):")
    prev = 0.0
    for label, seconds in stages:
        us = seconds / n * 1e6
        print(f"  {label:<45} {us:6.2f} us/bar  (+{us - prev:5.2f})")
        prev = us
    _ = Bar


# --- 2. vectorised ------------------------------------------------------------------------------------------------
def bench_vectorised(data: OHLCV) -> None:
    from desk.backtest.vectorised import simulate
    from desk.execution.fees import FeeSchedule
    from desk.strategies.ma_crossover import MACrossover

    n = len(data)
    print(f"\n== Vectorised SMA {PARAMS['fast']}/{PARAMS['slow']} on {n:,} bars")
    params = {**PARAMS, "allow_short": False}
    fees = FeeSchedule(Decimal(0), Decimal(0))

    def core() -> Any:
        target = MACrossover.vector_targets(params, data)
        assert target is not None
        return simulate(data, target, account_value=10_000.0, fees=fees)

    core()  # warm caches
    (equity, fills), t_core = min((timed(core) for _ in range(3)), key=lambda x: x[1])
    print(f"desk targets + simulate     {rate(n, t_core)}  fills {len(fills)}, return {equity[-1] / 1e4 - 1:+.4f}")
    _, t_full = timed(lambda: run_backtest("ma_crossover", data, PARAMS, monte_carlo=0, mode="vectorised"))
    print(f"desk run_backtest (all metrics, look-ahead check) {rate(n, t_full)}")
    t_vbt = bench_vectorbt(data)
    if t_vbt:
        ratio = t_vbt / t_core
        print(f"desk / vectorbt             {ratio:5.2f}x (target >= 1x: {'met' if ratio >= 1 else 'NOT met'})")


def bench_vectorbt(data: OHLCV) -> float:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pandas as pd
            import vectorbt as vbt
    except ImportError:
        print("vectorbt                     not installed (pip install 'desk[bench]')")
        return 0.0
    close = pd.Series(data.prices("close"))
    opens = pd.Series(data.prices("open"))

    def run(c: Any, o: Any) -> Any:
        fast = vbt.MA.run(c, PARAMS["fast"]).ma
        slow = vbt.MA.run(c, PARAMS["slow"]).ma
        entries = fast.vbt.crossed_above(slow).shift(1, fill_value=False)  # decided on the close, traded next open
        exits = fast.vbt.crossed_below(slow).shift(1, fill_value=False)
        pf = vbt.Portfolio.from_signals(c, entries, exits, price=o, init_cash=10_000, fees=0.0, freq="1min")
        return pf, entries, exits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run(close[:5000], opens[:5000])  # numba compilation, not timed
        (pf, entries, exits), seconds = min((timed(lambda: run(close, opens)) for _ in range(2)), key=lambda x: x[1])
        _, t_pf = min(
            (
                timed(
                    lambda: vbt.Portfolio.from_signals(
                        close, entries, exits, price=opens, init_cash=10_000, freq="1min"
                    )
                )
                for _ in range(2)
            ),
            key=lambda x: x[1],
        )
        total = float(pf.total_return())
        trades = int(pf.trades.count())
    print(
        f"vectorbt {_version('vectorbt'):<8} signals+portfolio {rate(len(data), seconds)}  "
        f"trades {trades}, return {total:+.4f}"
    )
    print(f"vectorbt from_signals only  {rate(len(data), t_pf)}")
    return seconds


class Idle(Strategy):
    """Receives every bar and does nothing: isolates the runner's dispatch cost."""

    name = "idle"

    def on_bar(self, bar: Any) -> None:
        pass


# --- 3. sweep memory ------------------------------------------------------------------------------------------------
def bench_sweep_memory(n: int) -> None:
    from desk.backtest.sweep import Axis, SweepConfig, run_sweep

    print(f"\n== Sweep memory on {n:,} bars (vectorised, 2 worker processes)")
    data, t_gen = timed(lambda: gbm(n, seed=7))
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bars generated and validated in {t_gen:.1f} s; parent peak RSS so far {self_rss:,.0f} MiB")
    axes = [Axis("fast", (10, 20)), Axis("slow", (50, 100))]
    peaks: dict[int, float] = {}
    done = threading.Event()

    def watch() -> None:  # workers are forkserver children, invisible to RUSAGE_CHILDREN: sample /proc instead
        try:
            import psutil
        except ImportError:
            return
        me = psutil.Process()
        while not done.wait(0.05):
            for child in me.children(recursive=True):
                try:
                    rss = child.memory_info().rss / 2**20
                except psutil.Error:
                    continue
                peaks[child.pid] = max(peaks.get(child.pid, 0.0), rss)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    result, seconds = timed(lambda: run_sweep(SweepConfig("ma_crossover"), data, axes, {}, metric="sharpe", workers=2))
    done.set()
    watcher.join()
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    runs = len(result.rows)
    print(f"{runs} runs in {seconds:.1f} s ({runs * n / seconds / 1e6:.2f} M bar-runs/s)")
    workers = sorted(peaks.values(), reverse=True)[:2]
    shown = ", ".join(f"{w:,.0f}" for w in workers) or "n/a (psutil missing)"
    columns = n * 6 * 8 / 2**20
    print(
        f"peak RSS: parent {self_rss:,.0f} MiB; largest workers {shown} MiB (bars: {columns:,.0f} MiB of int64 columns)"
    )


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--sweep-bars", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="event-driven runs of each side (best is kept)")
    parser.add_argument("--only-sweep", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only_sweep:  # a fresh process, so its peak RSS is the sweep's alone
        bench_sweep_memory(args.sweep_bars)
        return 0
    data = gbm(args.bars)
    bench_event(data, max(1, args.repeat))
    bench_vectorised(data)
    if args.sweep_bars:
        sys.stdout.flush()
        cmd = [sys.executable, __file__, "--only-sweep", "--sweep-bars", str(args.sweep_bars)]
        subprocess.run(cmd, check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
