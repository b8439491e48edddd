"""The desk's screen under load: 50,000 L2 level updates/s for 10 s into the real app at 160x50, 15 Hz.

What it measures, per fresh process (so one run cannot warm or pollute the other):
- ``feed``: the baseline. The replayed feed applies batches to the paper trading desk (engine, broker, strategy
  runner, risk monitor: what the app trades through, with no strategy running) in a bare asyncio loop; no Textual.
- ``ui``: the same replay into ``build_app(...)`` run headless via ``run_test(size=(160, 50))``, with the ANSI
  encoding that headless mode skips added back (``App._display`` returns early when headless; we encode each
  compositor update with the app's console, as a real terminal would cost) and counted in bytes.

In both: no update may be dropped (level updates applied by the engine vs generated for the window), the
event-loop lag (lateness of a 10 ms ``asyncio.sleep`` loop) p50/p99/max, and process CPU (``process_time``
over wall time; 100% = one core). The UI's own cost is ``ui`` CPU minus ``feed`` CPU.

The event stream is pre-generated from the seeded ``SimulatedMarket`` before the timed window and replayed at
the target rate by level-update count: the generator costs about 12-15 us per message in Python, which would
otherwise dominate the figure, so the result measures the desk (engine + UI), not the generator.

Targets (references/textual-live-data.md): no drops, lag p99 <= 10 ms and max <= 20 ms, UI <= 10% of a core.
This script always exits 0; read the verdicts it prints. On a shared 2-core machine the figures move with the
neighbours' load: compare with the feed-only baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from desk.domain.events import BookDelta, Event, FeedState, FeedStatus
from desk.domain.instruments import Instrument
from desk.engine import Engine
from desk.feeds.base import Sink
from desk.feeds.sim import SimulatedMarket

SIZE = (160, 50)
LEVELS_PER_MESSAGE = 0.93  # measured ratio of level updates to events in the simulated stream


@dataclass
class Stream:
    opening: list[Event]
    events: list[Event]
    cum_levels: list[int]  # cum_levels[i] = level updates in events[:i+1]
    instruments: dict[str, Instrument]
    generate_s: float

    @property
    def levels(self) -> int:
        return self.cum_levels[-1] if self.cum_levels else 0


def generate(rate: float, seconds: float, seed: int) -> Stream:
    """Events from the seeded market until they hold ``rate * seconds`` level updates (plus 5% slack)."""
    market = SimulatedMarket(seed=seed, rate=rate / LEVELS_PER_MESSAGE)
    now = market.now_ns
    opening: list[Event] = [FeedStatus(market.venue, s, FeedState.CONNECTING, now) for s in market.instruments]
    opening += market.snapshots()
    opening += [FeedStatus(market.venue, s, FeedState.LIVE, now) for s in market.instruments]
    need = int(rate * seconds * 1.05)
    events: list[Event] = []
    cum: list[int] = []
    total = 0
    start = time.perf_counter()
    while total < need:
        for event in market.next_events(10_000):
            if type(event) is BookDelta:
                total += len(event.bids) + len(event.asks)
            events.append(event)
            cum.append(total)
    return Stream(opening, events, cum, market.instruments, time.perf_counter() - start)


class ReplayFeed:
    """Replays a pre-generated stream at ``rate`` level updates per wall second, one batch per wake-up."""

    venue = "sim"

    def __init__(self, stream: Stream, rate: float, wake_s: float = 0.005) -> None:
        self.stream = stream
        self.rate = rate
        self.wake_s = wake_s
        self.emitted_levels = 0
        self.batches = 0
        self.exhausted = False
        self._stopped = False
        self._t0 = 0.0

    @property
    def instruments(self) -> dict[str, Instrument]:
        return self.stream.instruments

    def stop(self) -> None:
        self._stopped = True

    def due_levels(self, now: float) -> float:
        return self.rate * (now - self._t0)

    async def run(self, sink: Sink) -> None:
        sink(self.stream.opening)
        events, cum = self.stream.events, self.stream.cum_levels
        index = 0
        self._t0 = time.perf_counter()
        while not self._stopped and index < len(events):
            await asyncio.sleep(self.wake_s)
            due = self.due_levels(time.perf_counter())
            end = bisect.bisect_right(cum, due, lo=index)
            if end > index:
                sink(events[index:end])
                self.emitted_levels = cum[end - 1]
                self.batches += 1
                index = end
        self.exhausted = index >= len(events)


@dataclass
class Probe:
    """Lateness of a 10 ms sleep loop: how long the event loop kept a ready task waiting."""

    interval: float = 0.010
    recording: bool = False
    lags_ms: list[float] = field(default_factory=list)

    async def run(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(self.interval)
            if self.recording:
                self.lags_ms.append((time.perf_counter() - t - self.interval) * 1000)


class GcWatch:
    """Collector pauses during the window: the usual cause of a lag spike in a Textual app."""

    def __init__(self) -> None:
        self.recording = False
        self.pauses_ms: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._t = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t = time.perf_counter()
        elif self.recording:
            self.pauses_ms[info["generation"]].append((time.perf_counter() - self._t) * 1000)

    def summary(self) -> dict[str, Any]:
        return {
            f"gc{gen}": [len(p), round(max(p), 2) if p else 0.0, round(sum(p), 1)] for gen, p in self.pauses_ms.items()
        }


@dataclass
class Window:
    wall0: float = 0.0
    cpu0: float = 0.0
    applied0: int = 0
    emitted0: int = 0
    due0: float = 0.0
    result: dict[str, Any] = field(default_factory=dict)

    def open(self, engine: Engine, feed: ReplayFeed) -> None:
        self.wall0 = time.perf_counter()
        self.cpu0 = time.process_time()
        self.applied0 = engine.level_updates
        self.emitted0 = feed.emitted_levels
        self.due0 = feed.due_levels(self.wall0)

    def close(self, engine: Engine, feed: ReplayFeed, probe: Probe) -> dict[str, Any]:
        wall = time.perf_counter() - self.wall0
        cpu = time.process_time() - self.cpu0
        lags = sorted(probe.lags_ms)
        generated = feed.due_levels(time.perf_counter()) - self.due0
        applied = engine.level_updates - self.applied0
        emitted = feed.emitted_levels - self.emitted0
        return {
            "wall_s": wall,
            "cpu_pct": cpu / wall * 100,
            "generated": int(generated),
            "emitted": emitted,
            "applied": applied,
            "applied_per_s": applied / wall,
            "backlog": int(feed.due_levels(time.perf_counter())) - feed.emitted_levels,
            "exhausted": feed.exhausted,
            "gaps": sum(book.gaps for book in engine.books.values()),
            "books_live": all(book.state.value == "live" for book in engine.books.values()),
            "lag_p50": statistics.median(lags) if lags else float("nan"),
            "lag_p99": lags[min(len(lags) - 1, int(len(lags) * 0.99))] if lags else float("nan"),
            "lag_max": lags[-1] if lags else float("nan"),
            "lag_samples": len(lags),
        }


def trading_desk(stream: Stream) -> Any:
    """The desk both runs apply the stream to (the app's own recipe, no journal), so the UI's cost is the difference."""
    from desk.config import Settings
    from desk.runtime.build import build_trading_desk

    return build_trading_desk(Settings(), stream.instruments, "sim", None)


async def run_feed_only(stream: Stream, rate: float, warmup: float, seconds: float) -> dict[str, Any]:
    desk, _ = trading_desk(stream)
    engine = desk.engine
    feed = ReplayFeed(stream, rate)
    probe = Probe()
    gcw = GcWatch()
    tasks = [asyncio.create_task(feed.run(engine.on_events)), asyncio.create_task(probe.run())]
    await asyncio.sleep(warmup)
    window = Window()
    window.open(engine, feed)
    probe.recording = gcw.recording = True
    await asyncio.sleep(seconds)
    probe.recording = gcw.recording = False
    result = window.close(engine, feed, probe)
    result.update(gcw.summary())
    feed.stop()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return result


async def run_ui(stream: Stream, rate: float, warmup: float, seconds: float) -> dict[str, Any]:
    from textual._compositor import CompositorUpdate
    from textual.screen import Screen

    from desk.config import Settings
    from desk.ui.app import build_app

    desk, monitor = trading_desk(stream)
    engine = desk.engine
    feed = ReplayFeed(stream, rate)
    app = build_app(Settings(), feed=feed, desk=desk, monitor=monitor, freeze_gc=True)
    encoded = {"bytes": 0, "frames": 0, "encode_s": 0.0}
    frame_ms: list[float] = []
    recording = [False]
    display = app._display

    def display_with_encoding(screen: Screen[Any], renderable: Any) -> None:
        # Headless skips this work; a terminal pays it on every frame (pitfall 8 of the reference).
        if recording[0] and isinstance(renderable, CompositorUpdate):
            t = time.perf_counter()
            data = renderable.render_segments(app.console)
            encoded["encode_s"] += time.perf_counter() - t
            encoded["bytes"] += len(data.encode("utf-8"))
            encoded["frames"] += 1
        display(screen, renderable)

    app._display = display_with_encoding  # type: ignore[method-assign]
    probe = Probe()
    gcw = GcWatch()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        refresh = screen._compositor_refresh

        def timed_refresh() -> None:
            t = time.perf_counter()
            refresh()
            if recording[0]:
                frame_ms.append((time.perf_counter() - t) * 1000)

        screen._compositor_refresh = timed_refresh  # type: ignore[method-assign]
        probe_task = asyncio.create_task(probe.run())
        await asyncio.sleep(warmup)
        window = Window()
        window.open(engine, feed)
        ticks0 = app.ticks
        probe.recording = recording[0] = gcw.recording = True
        await asyncio.sleep(seconds)
        probe.recording = recording[0] = gcw.recording = False
        result = window.close(engine, feed, probe)
        result.update(gcw.summary())
        result["ticks_per_s"] = (app.ticks - ticks0) / result["wall_s"]
        probe_task.cancel()
        await asyncio.gather(probe_task, return_exceptions=True)
        await pilot.press("q")
    wall = result["wall_s"]
    frame_ms.sort()
    result.update(
        frames_per_s=encoded["frames"] / wall,
        terminal_kb_per_s=encoded["bytes"] / wall / 1024,
        encode_ms_per_frame=encoded["encode_s"] * 1000 / max(1, encoded["frames"]),
        frame_ms_p50=statistics.median(frame_ms) if frame_ms else float("nan"),
        frame_ms_p99=frame_ms[min(len(frame_ms) - 1, int(len(frame_ms) * 0.99))] if frame_ms else float("nan"),
        color_system=app.console.color_system,
    )
    return result


def child(mode: str, rate: float, seconds: float, warmup: float, seed: int) -> None:
    stream = generate(rate, warmup + seconds + 1.0, seed)
    gc.collect()
    gc.freeze()  # the pre-generated stream is not garbage: keep the collector from walking it
    runner = run_ui if mode == "ui" else run_feed_only
    result = asyncio.run(runner(stream, rate, warmup, seconds))
    result.update(
        mode=mode,
        stream_events=len(stream.events),
        stream_levels=stream.levels,
        generate_us_per_event=stream.generate_s / len(stream.events) * 1e6,
        textual_imported="textual" in sys.modules,
    )
    print(json.dumps(result))


def spawn(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", mode, "--rate", str(args.rate), "--seconds", str(args.seconds)]
    cmd += ["--warmup", str(args.warmup), "--seed", str(args.seed)]
    env = dict(os.environ, TEXTUAL_COLOR_SYSTEM="truecolor")  # encode as for a true-colour terminal
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode:
        raise SystemExit(f"bench_ui: {mode} run failed:\n{proc.stderr}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report(runs: Sequence[dict[str, Any]], args: argparse.Namespace) -> None:
    feed = [r for r in runs if r["mode"] == "feed"]
    ui = [r for r in runs if r["mode"] == "ui"]
    first = runs[0]
    print(
        f"bench_ui: {args.rate:,.0f} L2 level updates/s for {args.seconds:g} s (+{args.warmup:g} s warm-up), "
        f"app headless at {SIZE[0]}x{SIZE[1]}, 15 Hz ticks, ANSI encoding counted"
    )
    print(
        f"stream: pre-generated from SimulatedMarket(seed={args.seed}) before the timed window, "
        f"{first['stream_events']:,} events / {first['stream_levels']:,} level updates; the generator costs "
        f"{first['generate_us_per_event']:.1f} us/event and is NOT in the figures (replay measures the desk)"
    )
    header = (
        f"{'run':<6}{'applied/s':>11}{'generated':>11}{'applied':>10}{'dropped':>9}{'backlog':>9}"
        f"{'lag p50':>9}{'p99':>7}{'max':>7}{'CPU %':>7}{'fps':>6}{'KB/s':>7}{'frame p50':>10}{'p99':>7}"
    )
    print(header)
    for r in runs:
        dropped = r["emitted"] - r["applied"]
        extra = (
            f"{r['frames_per_s']:>6.1f}{r['terminal_kb_per_s']:>7.0f}{r['frame_ms_p50']:>10.2f}{r['frame_ms_p99']:>7.1f}"
            if r["mode"] == "ui"
            else f"{'-':>6}{'-':>7}{'-':>10}{'-':>7}"
        )
        print(
            f"{r['mode']:<6}{r['applied_per_s']:>11,.0f}{r['generated']:>11,}{r['applied']:>10,}{dropped:>9,}"
            f"{r['backlog']:>9,}{r['lag_p50']:>9.2f}{r['lag_p99']:>7.2f}{r['lag_max']:>7.2f}{r['cpu_pct']:>7.1f}"
            + extra
        )
    print("(lag in ms: lateness of a 10 ms asyncio.sleep loop; frame ms = Screen._compositor_refresh)")
    for r in runs:
        gcs = ", ".join(f"gen{g}: {r[f'gc{g}'][0]} runs, max {r[f'gc{g}'][1]:.1f} ms" for g in range(3))
        print(f"  {r['mode']} collector pauses in the window: {gcs}")
    if ui:
        enc = statistics.median(r["encode_ms_per_frame"] for r in ui)
        print(f"ANSI encoding added back: {enc:.2f} ms/frame, colour system {ui[0]['color_system']}")
    if not (feed and ui):
        return
    feed_cpu = statistics.median(r["cpu_pct"] for r in feed)
    ui_cpu = statistics.median(r["cpu_pct"] for r in ui)
    ui_cost = ui_cpu - feed_cpu
    no_drops = all(
        r["emitted"] == r["applied"] and r["applied"] >= 0.99 * r["generated"] and r["gaps"] == 0 and r["books_live"]
        for r in runs
    )
    p99 = max(r["lag_p99"] for r in ui)
    lag_max = max(r["lag_max"] for r in ui)
    print(f"UI cost = ui CPU {ui_cpu:.1f}% - feed-only CPU {feed_cpu:.1f}% = {ui_cost:.1f}% of a core")
    print("targets:")
    print(f"  no update dropped (applied == sent, >= 99% of generated, no gaps): {verdict(no_drops)}")
    print(f"  lag p99 <= 10 ms with the UI: {p99:.2f} ms {verdict(p99 <= 10)}")
    print(f"  lag max <= 20 ms with the UI: {lag_max:.2f} ms {verdict(lag_max <= 20)}")
    print(f"  UI <= 10% of a core at 15 Hz: {ui_cost:.1f}% {verdict(ui_cost <= 10)}")
    print(f"  headless feed-only run imported textual: {feed[0]['textual_imported']} (expected False)")
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (shared)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50_000.0, help="level updates per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each mode, alternating")
    parser.add_argument("--child", choices=("feed", "ui"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rate, args.seconds, args.warmup, args.seed)
        return
    runs = []
    for _ in range(args.repeat):
        runs.append(spawn("feed", args))
        runs.append(spawn("ui", args))
    report(runs, args)


if __name__ == "__main__":
    main()
