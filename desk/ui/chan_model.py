"""The Chan overlay's analysis state for one symbol: the desk's bars in, an immutable ``ChanView`` out.

Plain Python (no Textual), so it is tested without a terminal. The chart runs ``ChanTracker.advance`` in a worker
thread: the tracker owns a streaming ``desk.chan.ChanAnalyzer`` and is touched by one worker at a time; the UI
only reads the ``ChanView`` each run returns (tuples and the analyzer's immutable snapshot) and leaves requests
(a new MACD preset) in attributes the next run picks up. An exception inside the analysis puts the tracker in an
error state, like a strategy that raised: it stops analysing and reports the error until it is restarted, while
the desk itself carries on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from desk.chan import ChanAnalyzer, ChanConfig, ChanState, MacdStream, preset
from desk.domain.events import Bar
from desk.domain.instruments import Instrument

NS = 1_000_000_000

TIMEFRAMES: tuple[int, ...] = (1, 5, 15, 60)
"""Bar lengths (seconds) the overlay cycles through; each is aggregated from the engine's 1 s bars."""

WINDOW_BARS = 1_000
"""Aggregated bars (and MACD values) kept for drawing: more than a wide terminal shows at one bar per dot column."""


class Analyzer(Protocol):
    """What the tracker needs of an analyzer (``ChanAnalyzer``; tests substitute failing or slow ones)."""

    def update(self, bar: Bar) -> ChanState: ...
    def set_macd(self, name: str) -> ChanState: ...


AnalyzerFactory = Callable[[ChanConfig, Instrument], Analyzer]


def default_analyzer(config: ChanConfig, instrument: Instrument) -> Analyzer:
    return ChanAnalyzer(config, instrument=instrument)


class BarAggregator:
    """Closed bars into ``timeframe_s`` bars aligned to the epoch, the way ``desk.bars.BarBuilder`` cuts trades.

    A coarse bar closes when a source bar of a later window arrives (a window with no trades has no bar, as on
    the engine's own bars). With ``timeframe_s`` equal to the source's, bars pass through unchanged.
    """

    __slots__ = ("_current", "timeframe_ns", "timeframe_s")

    def __init__(self, timeframe_s: int) -> None:
        if timeframe_s <= 0:
            raise ValueError(f"timeframe {timeframe_s} must be > 0 seconds")
        self.timeframe_s = timeframe_s
        self.timeframe_ns = timeframe_s * NS
        self._current: Bar | None = None

    def add(self, bar: Bar) -> Bar | None:
        """Take one closed source bar; return the coarse bar it closed, if any."""
        if bar.timeframe_s == self.timeframe_s:
            return bar
        if self.timeframe_s % bar.timeframe_s:
            raise ValueError(f"cannot build {self.timeframe_s}s bars from {bar.timeframe_s}s bars")
        start = bar.start_ns - bar.start_ns % self.timeframe_ns
        cur = self._current
        if cur is None or cur.start_ns != start:
            self._current = Bar(
                bar.symbol, self.timeframe_s, start, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.trades
            )
            return cur
        self._current = Bar(
            cur.symbol,
            self.timeframe_s,
            start,
            cur.open,
            max(cur.high, bar.high),
            min(cur.low, bar.low),
            bar.close,
            cur.volume + bar.volume,
            cur.trades + bar.trades,
        )
        return None


@dataclass(frozen=True, slots=True)
class ChanView:
    """One picture of the analysis, safe to hand from the worker thread to the UI.

    ``bars`` are the last analysed (closed) bars of ``timeframe_s``; ``first_index`` is the analyzer's raw-bar
    index of ``bars[0]`` (pens and fractals carry those indices); ``hist`` is the MACD histogram of each bar (NaN
    in the warm-up). ``source_ns`` is the start of the newest engine bar taken in, ``runs`` counts analysis runs.
    """

    symbol: str
    timeframe_s: int
    preset: str
    first_index: int = 0
    bars: tuple[Bar, ...] = ()
    hist: tuple[float, ...] = ()
    state: ChanState | None = None
    source_ns: int = 0
    runs: int = 0
    error: str = ""
    macd: tuple[int, int, int] = (0, 0, 0)


class ChanTracker:
    """Streaming Chan analysis of one symbol's bars at one timeframe."""

    def __init__(
        self,
        symbol: str,
        instrument: Instrument,
        timeframe_s: int = 1,
        macd: str = "standard",
        *,
        factory: AnalyzerFactory = default_analyzer,
        window: int = WINDOW_BARS,
    ) -> None:
        self.symbol = symbol
        self.instrument = instrument
        self.timeframe_s = timeframe_s
        self._factory = factory
        self._aggregator = BarAggregator(timeframe_s)
        self._preset = preset(macd)  # ValueError for an unknown name, before any thread is involved
        self._analyzer: Analyzer | None = None
        self._state: ChanState | None = None
        self._config = ChanConfig(macd=macd)
        self._closes: list[float] = []  # every analysed close: a preset switch recomputes MACD over all of them
        self._macd = MacdStream(self._preset)
        self._bars: deque[Bar] = deque(maxlen=window)
        self._hist: deque[float] = deque(maxlen=window)
        self._count = 0
        self._source_ns = 0
        self._runs = 0
        self.error = ""
        self.requested_macd: str | None = None
        """Set by the UI thread; the next ``advance`` switches the preset (a single attribute write is atomic)."""
        self._view = self._snapshot(None)

    @property
    def view(self) -> ChanView:
        return self._view

    @property
    def preset_name(self) -> str:
        return self.requested_macd or self._preset.name

    def pending(self, bars: Sequence[Bar]) -> int:
        """How many of ``bars`` (the engine's history, oldest first) this tracker has not taken in yet."""
        n = 0
        for bar in reversed(bars):
            if bar.start_ns <= self._source_ns:
                break
            n += 1
        return n

    def advance(self, bars: Sequence[Bar]) -> ChanView:
        """Take in the bars of ``bars`` newer than the last run's and return the new picture.

        Never raises: a failure of the analysis is recorded in ``error`` (and the view), and later calls return
        that view without analysing until a new tracker replaces this one.
        """
        if self.error:
            return self._view
        try:
            self._runs += 1
            requested = self.requested_macd
            if requested is not None and requested != self._preset.name:
                self._switch_macd(requested)
            self.requested_macd = None
            for bar in bars[len(bars) - self.pending(bars) :]:
                self._source_ns = bar.start_ns
                closed = self._aggregator.add(bar)
                if closed is not None:
                    self._take(closed)
        except Exception as exc:  # isolated like a strategy: record, stop analysing, keep the desk running
            self.error = f"{type(exc).__name__}: {exc}"
        self._view = self._snapshot(self._state)
        return self._view

    def _take(self, bar: Bar) -> None:
        if self._analyzer is None:
            self._analyzer = self._factory(self._config, self.instrument)
        self._state = self._analyzer.update(bar)
        close = self.instrument.price_float(bar.close)
        self._closes.append(close)
        _, _, hist = self._macd.push(close)
        self._bars.append(bar)
        self._hist.append(hist)
        self._count += 1

    def _switch_macd(self, name: str) -> None:
        new = preset(name)
        self._preset = new
        self._config = ChanConfig(macd=name)
        self._macd, _, hist = MacdStream.run(new, self._closes)
        self._hist = deque(hist[-len(self._bars) :] if self._bars else (), maxlen=self._hist.maxlen)
        if self._analyzer is not None:
            self._state = self._analyzer.set_macd(name)

    def _snapshot(self, state: ChanState | None) -> ChanView:
        p = self._preset
        return ChanView(
            symbol=self.symbol,
            timeframe_s=self.timeframe_s,
            preset=p.name,
            first_index=self._count - len(self._bars),
            bars=tuple(self._bars),
            hist=tuple(self._hist),
            state=state,
            source_ns=self._source_ns,
            runs=self._runs,
            error=self.error,
            macd=(p.fast, p.slow, p.signal),
        )


def lag_seconds(view: ChanView, bars: Sequence[Bar]) -> float:
    """How far the analysis trails the engine: the newest engine bar's start minus the newest one analysed."""
    if not bars or view.source_ns == 0:
        return 0.0
    return max(0.0, (bars[-1].start_ns - view.source_ns) / NS)
