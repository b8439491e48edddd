"""The Chan overlay in the running desk (Pilot): toggling shows pens and segments of a seeded market, MACD presets
and timeframes switch at runtime, and a failing or slow analysis leaves the desk running and says so.

The engine is filled before the app starts and events are pushed by hand; the tests wait on the analysis worker
itself, never on wall-clock time. The snapshot is 160x50 with a fixed clock."""

from __future__ import annotations

import threading

import pytest
from textual.pilot import Pilot

from desk.chan import ChanConfig, ChanState, analyze
from desk.config import Settings
from desk.domain.events import Bar
from desk.domain.instruments import Instrument
from desk.engine import Engine
from desk.feeds.sim import NS, SimulatedMarket
from desk.ui.app import DeskApp, build_app
from desk.ui.chan_model import ChanTracker, default_analyzer
from desk.ui.model import line_text
from desk.ui.widgets.chan_chart import ChanChart
from desk.ui.widgets.chart import PriceChart
from desk.ui.widgets.ladder import Ladder

from .conftest import DeskPair, ManualFeed, fixed_clock, opening_events, trading_desk

SIZE = (160, 50)
SECONDS = 400


@pytest.fixture
def chan_market() -> SimulatedMarket:
    return SimulatedMarket(seed=7, rate=100.0)


@pytest.fixture
def chan_desk(chan_market: SimulatedMarket) -> DeskPair:
    """400 simulated seconds: 399 closed 1 s bars per symbol, enough for pens and a segment."""
    desk, monitor = trading_desk(chan_market)
    desk.engine.on_events(opening_events(chan_market))
    desk.engine.on_events(chan_market.events_until(chan_market.now_ns + SECONDS * NS))
    return desk, monitor


@pytest.fixture
def chan_engine(chan_desk: DeskPair) -> Engine:
    return chan_desk[0].engine


def make_app(pair: DeskPair, market: SimulatedMarket) -> tuple[DeskApp, ManualFeed]:
    feed = ManualFeed(market.instruments)
    desk, monitor = pair
    return build_app(Settings(), feed=feed, desk=desk, monitor=monitor, clock=fixed_clock, freeze_gc=False), feed


async def settle(pilot: Pilot[None]) -> ChanChart:
    """Tick, wait for the analysis run the tick started (if any), deliver its result, tick again."""
    app = pilot.app
    chan = app.query_one(ChanChart)
    for _ in range(3):
        app.update_view()  # type: ignore[attr-defined]
        if chan.worker is not None:
            await chan.worker.wait()
        await pilot.pause()
    app.update_view()  # type: ignore[attr-defined]
    await pilot.pause()
    return chan


def roles(chan: ChanChart) -> set[str]:
    return {role for line in chan.lines for text, role in line if text.strip()}


async def test_toggle_shows_pens_and_segments_of_the_seeded_market(
    chan_desk: DeskPair, chan_engine: Engine, chan_market: SimulatedMarket
) -> None:
    app, _ = make_app(chan_desk, chan_market)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        chan, price = app.query_one(ChanChart), app.query_one(PriceChart)
        assert not chan.display and price.display
        await pilot.press("c")
        await settle(pilot)
        assert chan.display and not price.display
        view = chan.current
        assert view is not None and view.state is not None and not view.error
        bars = chan_engine.bars["BTC-USD"].history()
        inst = chan_engine.instruments["BTC-USD"]
        batch = analyze(list(bars), ChanConfig(), instrument=inst)  # the same bars, all at once
        assert len(batch.pens) >= 5 and len(batch.segments) >= 1
        assert list(view.state.pens) == list(batch.pens)
        assert list(view.state.segments) == list(batch.segments)
        # rendered: the title, the counts, and pen and fractal cells on the plot
        assert line_text(chan.lines[0]).startswith(" chan BTC-USD")
        info = line_text(chan.lines[1])
        assert f"pens {len(batch.pens)}" in info and f"segments {len(batch.segments)}" in info
        assert {"chan-bar", "chan-top", "chan-bottom", "macd-pos", "macd-neg"} <= roles(chan)
        assert roles(chan) & {"chan-pen", "chan-pen-open"}
        painted = [chan.render_line(y).text for y in range(len(chan.lines))]
        assert any("▾" in row for row in painted) and any(
            any("\u2800" < ch <= "\u28ff" for ch in row) for row in painted
        )

        await pilot.press("c")
        await pilot.pause()
        assert price.display and not chan.display


async def test_macd_preset_and_timeframe_switch_at_runtime(
    chan_desk: DeskPair, chan_engine: Engine, chan_market: SimulatedMarket
) -> None:
    app, _ = make_app(chan_desk, chan_market)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("c")
        chan = await settle(pilot)
        assert chan.current is not None and chan.current.preset == "standard"
        await pilot.press("m")
        await settle(pilot)
        view = chan.current
        assert view is not None and view.preset == "fast" and view.state is not None
        assert view.state.macd_preset == "fast"
        assert any("MACD fast 8/17/9" in line_text(line) for line in chan.lines)
        await pilot.press("t")  # 5 s bars aggregated from the 1 s bars
        await settle(pilot)
        view = chan.current
        assert view is not None and view.timeframe_s == 5 and view.preset == "fast"
        assert all(b.timeframe_s == 5 for b in view.bars) and 70 <= len(view.bars) <= 80
        assert "5s bars" in line_text(chan.lines[1])


class Failing:
    def __init__(self, config: ChanConfig, instrument: Instrument) -> None:
        self.n = 0

    def update(self, bar: Bar) -> ChanState:
        raise RuntimeError("analysis blew up")

    def set_macd(self, name: str) -> ChanState:
        raise RuntimeError("analysis blew up")


async def test_a_failing_analysis_shows_its_error_and_the_desk_keeps_running(
    chan_desk: DeskPair, chan_engine: Engine, chan_market: SimulatedMarket
) -> None:
    app, feed = make_app(chan_desk, chan_market)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        chan = app.query_one(ChanChart)
        chan.factory = Failing
        await pilot.press("c")
        await settle(pilot)
        text = " ".join(line_text(line).strip() for line in chan.lines[2:])
        assert "chan analysis stopped: RuntimeError: analysis blew up" in text
        assert "behind" not in line_text(chan.lines[1])
        ladder = app.query_one(Ladder)
        before = list(ladder.lines)
        runs = chan.current.runs if chan.current else 0
        feed.push(chan_market.events_until(chan_market.now_ns + 5 * NS))
        await settle(pilot)
        assert ladder.lines != before  # the book still moves on screen
        assert app.is_running and chan.current is not None and chan.current.runs == runs  # stopped, not retried
        chan.factory = default_analyzer  # the fault is gone: switching off and on restarts (like a strategy)
        await pilot.press("c", "c")
        await settle(pilot)
        assert chan.current is not None and not chan.current.error


class Gate:
    """An analyzer that waits for the test before each bar once ``hold`` is set: a stand-in for a slow one."""

    def __init__(self) -> None:
        self.hold = threading.Event()
        self.go = threading.Event()
        self.entered = threading.Event()

    def factory(self, config: ChanConfig, instrument: Instrument) -> Gated:
        return Gated(self, default_analyzer(config, instrument))


class Gated:
    def __init__(self, gate: Gate, inner: object) -> None:
        self.gate = gate
        self.inner = inner

    def update(self, bar: Bar) -> ChanState:
        if self.gate.hold.is_set():
            self.gate.entered.set()
            assert self.gate.go.wait(30), "the test never released the analysis"
        return self.inner.update(bar)  # type: ignore[attr-defined,no-any-return]

    def set_macd(self, name: str) -> ChanState:
        return self.inner.set_macd(name)  # type: ignore[attr-defined,no-any-return]


async def test_a_slow_analysis_falls_behind_visibly_while_the_desk_trades_on(
    chan_desk: DeskPair, chan_engine: Engine, chan_market: SimulatedMarket
) -> None:
    gate = Gate()
    app, feed = make_app(chan_desk, chan_market)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        chan = app.query_one(ChanChart)
        chan.factory = gate.factory
        await pilot.press("c")
        await settle(pilot)
        assert chan.note() == ""
        gate.hold.set()
        feed.push(chan_market.events_until(chan_market.now_ns + 2 * NS))
        app.update_view()  # starts a run that blocks inside the analyzer
        for _ in range(3000):  # the worker thread starts once the event loop runs: wait for it (bounded)
            if gate.entered.is_set():
                break
            await pilot.pause(0.01)
        assert gate.entered.is_set()
        assert chan.busy
        ladder = app.query_one(Ladder)
        before = list(ladder.lines)
        feed.push(chan_market.events_until(chan_market.now_ns + 10 * NS))
        app.update_view()
        await pilot.pause()
        assert ladder.lines != before
        note = chan.note()
        assert "s behind" in note and "run busy" in note
        assert note in line_text(chan.lines[1])
        gate.hold.clear()
        gate.go.set()
        await settle(pilot)
        assert chan.note() == "" and not chan.busy
        tracker = chan.tracker
        assert isinstance(tracker, ChanTracker) and tracker.pending(chan_engine.bars["BTC-USD"].history()) == 0


def test_overlay_snapshot(snap_compare, chan_desk: DeskPair, chan_engine: Engine, chan_market: SimulatedMarket) -> None:  # type: ignore[no-untyped-def]
    app, _ = make_app(chan_desk, chan_market)

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.pause()
        await pilot.press("c")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
