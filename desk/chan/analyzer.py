"""Batch ``analyze`` and the streaming ``ChanAnalyzer``: the same rules, the same result.

Finality drives the streaming design. A processed bar is final once the next one starts; a fractal is final once
its right neighbour is (until then its zone can move, and with it a strict pen check); a pen is confirmed once the
next pen has been started by a final fractal; a segment once every pen its end was decided on is confirmed. Final
things are appended to lists and never touched again; everything else (at most one pending fractal, the last one or
two pens, the segments after the last confirmed one and the divergences that involve them) is recomputed on each
bar and handed out as a short tail. Snapshots share the append-only lists (``SeqView``), so ``update`` costs O(1)
per bar plus a rescan of the pens after the last confirmed segment when the pens change.

The batch path runs the same steps over all bars at once (inclusion in a tight loop, fractals vectorised) and treats
its last fractal exactly like the streaming pending one, so both give the same result (property-tested).
"""

from __future__ import annotations

from collections.abc import Sequence

from desk.chan import fractals as fr
from desk.chan import segments as sg
from desk.chan.config import ChanConfig
from desk.chan.divergence import MacdTrack, pen_divergence, segment_divergence
from desk.chan.inclusion import IncrementalProcessor, process
from desk.chan.inputs import OHLC, BarArrays, bar_values
from desk.chan.macd import MacdPreset, MacdStream, preset
from desk.chan.model import ChanResult, ChanState, Divergence, Fractal, Pen, Segment, SeqView
from desk.chan.pens import PenBuilder, PenRules
from desk.domain.events import Bar
from desk.domain.instruments import Instrument


def _macd_preset(config: ChanConfig) -> MacdPreset:
    return preset(config.macd)


def _pens_after(builder: PenBuilder, pending: Fractal | None) -> tuple[Pen, ...]:
    """The unconfirmed tail of the pens: the builder's last pen, as the pending fractal would leave it."""
    if pending is None:
        return (builder.last,) if builder.last is not None else ()
    closed, last, _ = builder.step(pending, sure=False)
    return tuple(p for p in (closed, last) if p is not None)


def analyze(
    bars: BarArrays | Sequence[Bar], config: ChanConfig | None = None, *, instrument: Instrument | None = None
) -> ChanResult:
    """The whole structure of ``bars`` at once."""
    cfg = config or ChanConfig()
    if not isinstance(bars, BarArrays):
        if instrument is None:
            raise ValueError("desk.domain.Bar input is in ticks: pass instrument= to convert it")
        bars = BarArrays.from_bars(bars, instrument)
    ts = bars.ts.tolist()
    p = process(bars.high.tolist(), bars.low.tolist())
    found = fr.detect(p, ts)
    pending = found.pop() if found and found[-1].pidx == len(p) - 2 else None
    builder = PenBuilder(PenRules.from_config(cfg))
    for f in found:
        builder.feed(f)
    pens: list[Pen] = [*builder.done, *_pens_after(builder, pending)]
    if pending is not None:
        found.append(pending)
    segs = sg.scan(pens)
    mp = _macd_preset(cfg)
    _, dif, hist = MacdStream.run(mp, bars.close.tolist())
    track = MacdTrack(mp.warmup, dif, hist)
    ratio = cfg.divergence_ratio
    pdiv = [d for n in range(2, len(pens)) if (d := pen_divergence(pens, n, track, ratio)) is not None]
    sdiv = [d for n in range(2, len(segs)) if (d := segment_divergence(segs, n, track, ratio)) is not None]
    return ChanResult(len(bars), len(p), tuple(found), tuple(pens), tuple(segs), tuple(pdiv), tuple(sdiv), mp.name)


class ChanAnalyzer:
    """Streaming analysis: ``update(bar)`` after each closed bar returns an immutable ``ChanState``.

    Bars are ``desk.domain.Bar`` (ticks; pass the instrument) or ``OHLC`` tuples. ``set_macd`` switches the MACD
    preset at runtime (recomputed over the bars seen so far).
    """

    def __init__(self, config: ChanConfig | None = None, *, instrument: Instrument | None = None) -> None:
        self.config = config or ChanConfig()
        self.instrument = instrument
        self._proc = IncrementalProcessor()
        self._ts: list[int] = []
        self._close: list[float] = []
        self._fractals: list[Fractal] = []
        self._pending: Fractal | None = None
        self._builder = PenBuilder(PenRules.from_config(self.config))
        self._pen_tail: tuple[Pen, ...] = ()
        self._seg_done: list[Segment] = []
        self._seg_cut: tuple[int, float] | None = None
        self._seg_tail: tuple[Segment, ...] = ()
        self._pdiv_done: list[Divergence] = []
        self._pdiv_next = 2
        self._pdiv_tail: tuple[Divergence, ...] = ()
        self._sdiv_done: list[Divergence] = []
        self._sdiv_next = 2
        self._sdiv_tail: tuple[Divergence, ...] = ()
        self._preset = _macd_preset(self.config)
        self._macd = MacdStream(self._preset)
        self._track = MacdTrack(self._preset.warmup, [], [])
        self._state = self._snapshot()

    @property
    def state(self) -> ChanState:
        return self._state

    def update(self, bar: Bar | OHLC) -> ChanState:
        ts, high, low, close = bar_values(bar, self.instrument)
        self._ts.append(ts)
        self._close.append(close)
        dif, _, hist = self._macd.push(close)
        self._track.append(dif, hist)
        started = self._proc.add(high, low)
        p = self._proc.bars
        m = len(p) - 1
        changed = False
        if started:
            if self._pending is not None:
                self._fractals.append(self._pending)
                changed = self._builder.feed(self._pending)
            self._pending = fr.make(p, m - 1, self._ts) if m >= 2 else None
        elif self._pending is not None:
            self._pending = fr.make(p, m - 1, self._ts)
        tail = _pens_after(self._builder, self._pending)
        if changed or tail != self._pen_tail:
            self._pen_tail = tail
            self._restructure()
        self._state = self._snapshot()
        return self._state

    def set_macd(self, name: str) -> ChanState:
        """Switch to another MACD preset (from config/chan.toml); ``ValueError`` for an unknown name."""
        self._preset = preset(name)
        self._macd, dif, hist = MacdStream.run(self._preset, self._close)
        self._track = MacdTrack(self._preset.warmup, dif, hist)
        self._pdiv_done, self._pdiv_next, self._sdiv_done, self._sdiv_next = [], 2, [], 2
        self._divergences()
        self._state = self._snapshot()
        return self._state

    def _pens(self) -> SeqView[Pen]:
        done = self._builder.done
        return SeqView(done, len(done), self._pen_tail)

    def _segments(self) -> SeqView[Segment]:
        return SeqView(self._seg_done, len(self._seg_done), self._seg_tail)

    def _restructure(self) -> None:
        pens = self._pens()
        start, sign = self._seg_cut if self._seg_cut is not None else (None, 1.0)
        found = sg.scan(pens, start, sign)
        k = 0
        while k < len(found) and found[k].confirmed:
            self._seg_done.append(found[k])
            k += 1
        if k:
            last = found[k - 1]
            self._seg_cut = (last.last_pen + 1, -1.0 if last.direction == "up" else 1.0)
        self._seg_tail = tuple(found[k:])
        self._divergences()

    def _divergences(self) -> None:
        ratio = self.config.divergence_ratio
        track = self._track
        pens = self._pens()
        sure = len(self._builder.done)
        while self._pdiv_next < sure:
            d = pen_divergence(pens, self._pdiv_next, track, ratio)
            if d is not None:
                self._pdiv_done.append(d)
            self._pdiv_next += 1
        self._pdiv_tail = tuple(
            d for n in range(self._pdiv_next, len(pens)) if (d := pen_divergence(pens, n, track, ratio)) is not None
        )
        segs = self._segments()
        sure = len(self._seg_done)
        while self._sdiv_next < sure:
            d = segment_divergence(segs, self._sdiv_next, track, ratio)
            if d is not None:
                self._sdiv_done.append(d)
            self._sdiv_next += 1
        self._sdiv_tail = tuple(
            d for n in range(self._sdiv_next, len(segs)) if (d := segment_divergence(segs, n, track, ratio)) is not None
        )

    def _snapshot(self) -> ChanState:
        pending = (self._pending,) if self._pending is not None else ()
        return ChanResult(
            len(self._ts),
            len(self._proc.bars),
            SeqView(self._fractals, len(self._fractals), pending),
            self._pens(),
            self._segments(),
            SeqView(self._pdiv_done, len(self._pdiv_done), self._pdiv_tail),
            SeqView(self._sdiv_done, len(self._sdiv_done), self._sdiv_tail),
            self._preset.name,
        )
