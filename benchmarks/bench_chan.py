"""Chan analysis speed: batch bars/s on 1M bars and per-bar latency of the streaming update.

References measured in the same run: a bare Python loop over the same bars (the floor any per-bar pass pays) and
the stages of the batch path on their own (inclusion, fractals, MACD).

    .venv/bin/python benchmarks/bench_chan.py [--bars 1000000] [--stream 200000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from desk.chan import OHLC, BarArrays, ChanAnalyzer, ChanConfig, MacdStream, analyze, preset
from desk.chan import fractals as fr
from desk.chan.inclusion import process


def random_walk(n: int, seed: int = 1) -> BarArrays:
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(size=n))
    opens = np.r_[close[0], close[:-1]]
    high = np.maximum(opens, close) + rng.exponential(0.3, n)
    low = np.minimum(opens, close) - rng.exponential(0.3, n)
    return BarArrays(ts=np.arange(n, dtype=np.int64) * 60_000_000_000, open=opens, high=high, low=low, close=close)


def timed(fn: object, *args: object) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn(*args)  # type: ignore[operator]
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--stream", type=int, default=200_000)
    args = ap.parse_args()
    n = args.bars
    bars = random_walk(n)
    hi, lo, ts, close = bars.high.tolist(), bars.low.tolist(), bars.ts.tolist(), bars.close.tolist()

    def bare_loop() -> float:
        acc = 0.0
        for h, lw in zip(hi, lo, strict=True):
            if h > acc:
                acc = h - lw
        return acc

    t_loop, _ = timed(bare_loop)
    t_incl, processed = timed(process, hi, lo)
    t_fr, found = timed(fr.detect, processed, ts)
    t_macd, _ = timed(MacdStream.run, preset("standard"), close)
    print(f"batch on {n:,} random-walk bars")
    print(f"  reference: bare Python loop over the bars   {t_loop:7.3f} s  ({n / t_loop / 1e6:6.2f} M bars/s)")
    print(f"  stage: inclusion pass                       {t_incl:7.3f} s  ({len(processed):,} processed bars)")
    print(f"  stage: fractal detection (numpy)            {t_fr:7.3f} s  ({len(found):,} fractals)")  # type: ignore[arg-type]
    print(f"  stage: MACD 12/26/9                         {t_macd:7.3f} s")
    for cfg in (ChanConfig(), ChanConfig(pen="traditional", strict_validation=False)):
        t_all, result = timed(analyze, bars, cfg)
        r = result  # type: ignore[assignment]
        print(
            f"  analyze pen={cfg.pen:<11} strict={cfg.strict_validation!s:<5}  {t_all:7.3f} s  "
            f"({n / t_all / 1e3:6.0f} k bars/s; {len(r.pens):,} pens, {len(r.segments):,} segments, "  # type: ignore[attr-defined]
            f"{len(r.divergences):,} divergences)"  # type: ignore[attr-defined]
        )

    m = min(args.stream, n)
    an = ChanAnalyzer()
    rows = [OHLC(ts[i], close[i], hi[i], lo[i], close[i]) for i in range(m)]
    lat = np.empty(m, dtype=np.int64)
    clock = time.perf_counter_ns
    t0 = time.perf_counter()
    for i, row in enumerate(rows):
        a = clock()
        an.update(row)
        lat[i] = clock() - a
    total = time.perf_counter() - t0
    p50, p99, p999 = np.percentile(lat, [50, 99, 99.9]) / 1000
    print(f"streaming ChanAnalyzer.update over {m:,} bars: {m / total / 1e3:.0f} k bars/s")
    print(f"  per-bar latency: p50 {p50:.1f} us, p99 {p99:.1f} us, p99.9 {p999:.1f} us, max {lat.max() / 1000:.0f} us")
    head = BarArrays(ts=bars.ts[:m], open=bars.open[:m], high=bars.high[:m], low=bars.low[:m], close=bars.close[:m])
    same = list(an.state.pens) == list(analyze(head).pens)
    print(f"  streaming pens == batch pens over the same bars: {same}")


if __name__ == "__main__":
    main()
