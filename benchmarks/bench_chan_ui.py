"""What the Chan chart costs the desk: one analysis run per new 1 s bar (in the worker thread) and one redraw of the
chart body (in the UI tick), next to the plain price chart's redraw measured in the same run.

Prints min and median of repeated timings. Not a test: run ``python benchmarks/bench_chan_ui.py``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from desk.engine import Engine
from desk.feeds.sim import NS, SimulatedMarket
from desk.ui.chan_geometry import chan_lines
from desk.ui.chan_model import ChanTracker
from desk.ui.model import GridFormat, chart_lines, chart_series

WIDTH, HEIGHT = 90, 45  # the chart's share of a wide terminal
REPEATS = 41


def timed(fn: Callable[[], object], repeats: int = REPEATS) -> tuple[float, float]:
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return min(samples), statistics.median(samples)


def main() -> None:
    market = SimulatedMarket(seed=7, rate=100.0)
    engine = Engine(market.instruments, venue=market.venue, bar_history=600)
    engine.on_events(market.snapshots())
    engine.on_events(market.events_until(market.now_ns + 600 * NS))
    view = engine.view("BTC-USD")
    inst = view.instrument
    bars = view.bars
    print(f"{len(bars)} closed 1 s bars of BTC-USD from the seeded simulated market; chart body {WIDTH}x{HEIGHT}")

    # catch-up: the whole history at once (what switching the overlay on costs the worker)
    t0 = time.perf_counter()
    tracker = ChanTracker("BTC-USD", inst)
    tracker.advance(bars[:-60])
    catch_up = time.perf_counter() - t0
    n = len(bars) - 60
    print(f"catch-up run over {n} bars: {catch_up * 1e3:.1f} ms ({catch_up / n * 1e6:.0f} us/bar)")

    # steady state: one run per new bar
    per_bar = []
    for k in range(len(bars) - 60, len(bars)):
        t0 = time.perf_counter()
        tracker.advance(bars[: k + 1])
        per_bar.append(time.perf_counter() - t0)
    print(
        f"run per new bar (worker thread): min {min(per_bar) * 1e6:.0f} us, median "
        f"{statistics.median(per_bar) * 1e6:.0f} us, max {max(per_bar) * 1e6:.0f} us"
    )

    chan_view = tracker.view
    assert chan_view.state is not None
    print(f"  state: {len(chan_view.state.pens)} pens, {len(chan_view.state.segments)} segments")

    def price_text(p: float) -> str:
        return inst.price_str(inst.round_price_to_ticks(p))

    lo, med = timed(lambda: chan_lines(chan_view, WIDTH, HEIGHT, inst, price_text))
    print(f"Chan chart body redraw (UI tick, once per finished run): min {lo * 1e3:.2f} ms, median {med * 1e3:.2f} ms")
    fmt = GridFormat(inst)
    lo_ref, med_ref = timed(lambda: chart_lines(chart_series(view), WIDTH, HEIGHT, fmt, "1s bars"))
    print(
        f"reference, plain price chart body redraw:           min {lo_ref * 1e3:.2f} ms, median {med_ref * 1e3:.2f} ms"
    )


if __name__ == "__main__":
    main()
