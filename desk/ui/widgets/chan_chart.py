"""The price chart with the Chan overlay: bar ranges, fractals, pens and segments, the MACD histogram beneath.

The analysis never runs in the UI's tick. On a tick with new closed bars (and no analysis running) the widget
starts one thread worker (group ``chan``, exclusive) that advances the shown symbol's ``ChanTracker``; the tick
only draws the last finished ``ChanView``. A slow analysis therefore only makes the overlay trail the market
(the info row says by how much); a failing one stops, and the chart shows its error, while the feed, the book and
every other panel carry on. Drawing is ``desk.ui.chan_geometry``; this class decides when to analyse and redraw.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import ClassVar

from textual.worker import Worker, WorkerState

from desk.chan import load_presets
from desk.domain.events import Bar
from desk.domain.instruments import Instrument
from desk.engine import MarketView
from desk.ui.chan_geometry import ROLES, chan_lines
from desk.ui.chan_model import TIMEFRAMES, AnalyzerFactory, ChanTracker, ChanView, default_analyzer, lag_seconds
from desk.ui.widgets.lines import LineWidget

BEHIND_S = 3.0
"""The info row warns once the analysis trails the desk's newest bar by more than this many seconds."""


class ChanChart(LineWidget):
    COMPONENT_CLASSES: ClassVar[set[str]] = {f"line--{role}" for role in ROLES}

    def __init__(
        self,
        *,
        id: str | None = None,
        factory: AnalyzerFactory = default_analyzer,
        macd: str = "standard",
        timeframe_s: int = TIMEFRAMES[0],
    ) -> None:
        super().__init__(id=id)
        self.display = False  # the plain price chart shows until the overlay is switched on
        self.factory = factory
        self.macd = macd
        self.timeframe_s = timeframe_s
        self.clock: Callable[[], float] = time.monotonic
        self._trackers: dict[str, ChanTracker] = {}
        self._worker: Worker[ChanView] | None = None
        self._worker_started = 0.0
        self._symbol = ""
        self._instrument: Instrument | None = None
        self._bars: tuple[Bar, ...] = ()
        self._drawn: ChanView | None = None
        self._key: tuple[object, ...] | None = None

    # --- what the app calls ------------------------------------------------------------------------------
    @property
    def tracker(self) -> ChanTracker | None:
        """The shown symbol's tracker (tests read its view)."""
        return self._trackers.get(self._symbol)

    @property
    def current(self) -> ChanView | None:
        tracker = self.tracker
        return tracker.view if tracker is not None else None

    def show(self, view: MarketView) -> None:
        """The UI tick: start an analysis run when there is something new, then redraw if the picture changed."""
        self._symbol, self._instrument, self._bars = view.symbol, view.instrument, view.bars
        tracker = self._tracker_for(view)
        if not self.busy and not tracker.error and (tracker.pending(view.bars) or tracker.requested_macd):
            self._start(tracker, view.bars)
        self._draw()

    def restart(self) -> None:
        """Fresh analyses from the desk's bar history (after an error, or when the overlay is switched on)."""
        self._trackers.clear()
        self._drawn = None

    def set_macd(self, name: str) -> None:
        """Switch every symbol's MACD preset; the next run recomputes the histogram and the divergences."""
        if name not in load_presets():
            raise ValueError(f"unknown MACD preset {name!r}; expected one of {', '.join(load_presets())}")
        self.macd = name
        for tracker in self._trackers.values():
            tracker.requested_macd = name

    def cycle_macd(self) -> str:
        names = list(load_presets())
        name = names[(names.index(self.macd) + 1) % len(names)] if self.macd in names else names[0]
        self.set_macd(name)
        return name

    def set_timeframe(self, seconds: int) -> None:
        if seconds not in TIMEFRAMES:
            raise ValueError(f"chan timeframe {seconds}s; expected one of {', '.join(f'{t}s' for t in TIMEFRAMES)}")
        self.timeframe_s = seconds
        self.restart()

    def cycle_timeframe(self) -> int:
        i = TIMEFRAMES.index(self.timeframe_s) if self.timeframe_s in TIMEFRAMES else -1
        self.set_timeframe(TIMEFRAMES[(i + 1) % len(TIMEFRAMES)])
        return self.timeframe_s

    @property
    def worker(self) -> Worker[ChanView] | None:
        """The latest analysis run (tests wait on it)."""
        return self._worker

    @property
    def busy(self) -> bool:
        return self._worker is not None and self._worker.state in (WorkerState.PENDING, WorkerState.RUNNING)

    # --- worker ------------------------------------------------------------------------------------------
    def _tracker_for(self, view: MarketView) -> ChanTracker:
        tracker = self._trackers.get(view.symbol)
        # A symbol away longer than the engine's bar history shares no bar with it: start over rather than
        # analyse across a hole.
        stale = tracker is not None and tracker.view.bars and view.bars and tracker.pending(view.bars) == len(view.bars)
        if tracker is None or stale:
            tracker = ChanTracker(view.symbol, view.instrument, self.timeframe_s, self.macd, factory=self.factory)
            self._trackers[view.symbol] = tracker
        return tracker

    def _start(self, tracker: ChanTracker, bars: tuple[Bar, ...]) -> None:
        self._worker_started = self.clock()
        self._worker = self.run_worker(
            partial(tracker.advance, bars),
            name=f"chan {tracker.symbol}",
            group="chan",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker is not self._worker or not self.is_attached:
            return
        if event.state is WorkerState.ERROR:  # advance() records its own errors; this is a bug in the tracker
            tracker = self.tracker
            if tracker is not None:
                tracker.error = f"{type(worker.error).__name__}: {worker.error}"
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR):
            self._draw()

    # --- drawing -----------------------------------------------------------------------------------------
    def note(self) -> str:
        """What the info row says about the analysis itself: waiting, or how far it trails the desk."""
        view = self.current
        if view is None or (view.runs == 0 and self.busy):
            return "analysing..."
        if view.error:
            return ""
        lag = lag_seconds(view, self._bars)
        if lag > BEHIND_S:
            running = f", run busy {self.clock() - self._worker_started:.0f}s" if self.busy else ""
            return f"analysis {lag:.0f}s behind{running}"
        return ""

    def _draw(self) -> None:
        view = self.current
        instrument = self._instrument
        if view is None or instrument is None:
            return
        note = self.note()
        key = (note, self.size.width, self.size.height)
        if view is self._drawn and key == self._key:
            return  # views are immutable: the same object draws the same picture
        self._drawn, self._key = view, key

        def price_text(price: float) -> str:
            return instrument.price_str(instrument.round_price_to_ticks(price))

        body = chan_lines(view, self.size.width, self.size.height - 1, instrument, price_text, note)
        self.set_panel(f"chan {view.symbol}  (c price chart, m MACD preset, t timeframe)", body)
