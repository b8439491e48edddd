"""The Chan overlay without a terminal: bar aggregation, the tracker against the batch analysis and an independent
MACD, error isolation, and where pens, segments, fractals and histogram bars land, cell by cell (hand-worked)."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from decimal import Decimal

import numpy as np
import pytest

from desk.chan import ChanConfig, ChanResult, ChanState, Fractal, Pen, Segment, analyze
from desk.domain.events import Bar
from desk.domain.instruments import Instrument
from desk.indicators.momentum import macd
from desk.ui.chan_geometry import (
    BOTTOM_MARK,
    TOP_MARK,
    Canvas,
    Scale,
    chan_lines,
    histogram,
    line_dots,
    plot,
    window_for,
)
from desk.ui.chan_model import BarAggregator, ChanTracker, ChanView, lag_seconds
from desk.ui.model import Line

NS = 1_000_000_000
INST = Instrument("T-USD", Decimal("0.01"), Decimal("0.001"))


def cells(line: Line) -> list[tuple[str, str]]:
    """One (char, role) per terminal cell (lines merge neighbouring cells of one role)."""
    return [(ch, role) for text, role in line for ch in text]


def bar(i: int, o: int, h: int, lo: int, c: int, tf: int = 1, t0: int = 1_000) -> Bar:
    return Bar("T-USD", tf, (t0 + i * tf) * NS, o, h, lo, c, 1, 1)


def walk_bars(n: int, seed: int = 3) -> list[Bar]:
    """1 s bars of a random walk in ticks, with real ranges."""
    rng = np.random.default_rng(seed)
    close = 10_000 + np.cumsum(rng.integers(-6, 7, n))
    out = []
    prev = int(close[0])
    for i, c in enumerate(close.tolist()):
        hi = max(prev, c) + int(rng.integers(0, 4))
        lo = min(prev, c) - int(rng.integers(0, 4))
        out.append(bar(i, prev, hi, lo, c))
        prev = c
    return out


# --- aggregation and the tracker --------------------------------------------------------------------------
def test_aggregator_cuts_epoch_aligned_windows() -> None:
    agg = BarAggregator(5)
    src = [bar(i, 100 + i, 110 + i, 90 - i, 101 + i) for i in range(12)]  # t = 1000 .. 1011 s
    closed = [b for b in (agg.add(x) for x in src) if b is not None]
    # windows [1000, 1005) and [1005, 1010) are closed by the bars at 1005 and 1010; [1010, 1015) is still open
    assert [b.start_ns for b in closed] == [1000 * NS, 1005 * NS]
    first, second = closed
    assert (first.open, first.high, first.low, first.close, first.volume) == (100, 114, 86, 105, 5)
    assert (second.open, second.high, second.low, second.close) == (105, 119, 81, 110)
    assert all(b.timeframe_s == 5 for b in closed)
    assert BarAggregator(1).add(src[0]) is src[0]  # same length: passes through
    with pytest.raises(ValueError, match="cannot build 5s bars from 2s bars"):
        BarAggregator(5).add(bar(0, 1, 1, 1, 1, tf=2))


def test_tracker_in_chunks_equals_the_batch_analysis_and_an_independent_macd() -> None:
    src = walk_bars(900)
    tracker = ChanTracker("T-USD", INST, timeframe_s=5)
    for stop in (1, 37, 38, 400, 401, 900):  # the desk hands over its growing bar history each run
        view = tracker.advance(src[max(0, stop - 600) : stop])
    assert tracker.pending(src) == 0
    agg = BarAggregator(5)
    coarse = [b for b in (agg.add(x) for x in src) if b is not None]
    assert view.state is not None and view.state.bars == len(coarse) == 179
    batch = analyze(coarse, ChanConfig(), instrument=INST)
    assert len(batch.pens) > 5 and batch.segments
    assert list(view.state.pens) == list(batch.pens)
    assert list(view.state.segments) == list(batch.segments)
    assert view.bars == tuple(coarse) and view.first_index == 0
    closes = np.array([INST.price_float(b.close) for b in coarse])
    _, _, hist = macd(closes, 12, 26, 9)
    np.testing.assert_allclose(np.array(view.hist), hist, rtol=0, atol=1e-9, equal_nan=True)

    tracker.requested_macd = "fast"
    switched = tracker.advance(src)  # nothing new: only the preset changes
    assert switched.preset == "fast" and switched.macd == (8, 17, 9) and switched.state is not None
    assert switched.state.macd_preset == "fast"
    _, _, hist_fast = macd(closes, 8, 17, 9)
    np.testing.assert_allclose(np.array(switched.hist), hist_fast, rtol=0, atol=1e-9, equal_nan=True)
    assert lag_seconds(switched, src) == 0.0
    assert lag_seconds(switched, [*src, bar(950, 1, 1, 1, 1)]) == 950 - 899


def test_tracker_window_keeps_the_newest_bars_and_their_indices() -> None:
    src = walk_bars(300)
    view = ChanTracker("T-USD", INST, window=100).advance(src)
    assert len(view.bars) == len(view.hist) == 100
    assert view.first_index == 200 and view.bars[0] is src[200]


class Exploding:
    def __init__(self, after: int) -> None:
        self.calls = 0
        self.after = after

    def update(self, bar: Bar) -> ChanState:
        self.calls += 1
        if self.calls > self.after:
            raise RuntimeError("analysis blew up")
        return ChanResult(self.calls, self.calls, (), (), (), (), (), "standard")

    def set_macd(self, name: str) -> ChanState:
        raise AssertionError("not used")


def test_an_analysis_error_stops_the_tracker_and_is_reported() -> None:
    boom = Exploding(after=5)
    tracker = ChanTracker("T-USD", INST, factory=lambda config, inst: boom)
    view = tracker.advance(walk_bars(10))
    assert view.error == "RuntimeError: analysis blew up"
    assert view.state is not None and view.state.bars == 5  # the last good picture is kept
    again = tracker.advance(walk_bars(20))
    assert again is view and boom.calls == 6  # stopped: never called again
    lines = chan_lines(view, 40, 20, INST, str)
    text = " ".join("".join(t for t, _ in line).strip() for line in lines[1:])
    assert text.startswith("chan analysis stopped: RuntimeError: analysis blew up.")
    assert all(line[0][1] == "bad" and len(line[0][0]) == 40 for line in lines[1:]) and len(lines) == 4


def test_unknown_preset_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="unknown MACD preset 'turbo'"):
        ChanTracker("T-USD", INST, macd="turbo")


# --- geometry --------------------------------------------------------------------------------------------
def test_line_dots_are_connected_and_include_both_ends() -> None:
    for x0, y0, x1, y1 in [(0, 0, 9, 3), (5, 20, 0, 0), (3, 3, 3, 9), (0, 7, 12, 7), (2, 2, 2, 2)]:
        dots = line_dots(x0, y0, x1, y1)
        assert dots[0] == (x0, y0) and dots[-1] == (x1, y1)
        assert all(max(abs(a - c), abs(b - d)) == 1 for (a, b), (c, d) in itertools.pairwise(dots))
    assert line_dots(0, 0, 4, 2) == [(0, 0), (1, 0), (2, 1), (3, 2), (4, 2)]  # round half to even at 0.5, 1.5


def test_scale_maps_the_range_onto_the_usable_rows() -> None:
    s = Scale(lo=10.0, hi=20.0, top=4, bottom=36)
    assert (s.row(20.0), s.row(10.0), s.row(15.0)) == (4, 36, 20)
    assert Scale(5.0, 5.0, 4, 36).row(5.0) == 20  # a flat window draws in the middle


def test_canvas_layers_and_dashes() -> None:
    c = Canvas(4, 1)
    c.line(0, 0, 7, 0, 0)  # a bar-range layer line along the top dot row
    c.line(0, 0, 7, 0, 2, dashed=True)  # a provisional pen over it: dots 0,1 on, 2,3 off, 4,5 on, 6,7 off
    got = cells(c.lines()[0])
    # cells 0 and 2 hold the dashes (both dots of the top row: 0x01 | 0x08); cells 1 and 3 only the base layer
    assert got == [("⠉", "chan-pen-open"), ("⠉", "chan-bar"), ("⠉", "chan-pen-open"), ("⠉", "chan-bar")]
    c.put(3, 0, "x", "chan-top")
    assert cells(c.lines()[0])[3] == ("x", "chan-top")


def _hand_view() -> ChanView:
    """Twelve bars: a low of 10.00 at bar 2, a high of 20.00 at bar 8, then down to 14.00 at bar 11."""
    highs = [15, 13, 12, 14, 16, 17, 18, 19, 20, 18, 16, 15]
    lows = [13, 11, 10, 12, 14, 15, 16, 17, 18, 16, 15, 14]
    bars = tuple(
        bar(i, lo * 100, h * 100, lo * 100, h * 100) for i, (h, lo) in enumerate(zip(highs, lows, strict=True))
    )

    def fr(kind: str, i: int, price: float) -> Fractal:
        return Fractal(kind, i, bars[i].start_ns, price, i, price, price, price, price)  # type: ignore[arg-type]

    bottom, top, low2 = fr("bottom", 2, 10.0), fr("top", 8, 20.0), fr("bottom", 11, 14.0)
    pens = (Pen(bottom, top, True), Pen(top, low2, False))
    segs = (Segment(bottom, top, 0, 0, "open", False),)
    state = ChanResult(12, 12, (bottom, top, low2), pens, segs, (), (), "standard")
    return ChanView(
        "T-USD", 1, "standard", 0, bars, tuple([math.nan] * 12), state, bars[-1].start_ns, 1, macd=(12, 26, 9)
    )


def test_pens_segments_and_fractals_land_on_their_bars() -> None:
    view = _hand_view()
    win = window_for(view, 16)  # 8 cells = 16 dot columns, 12 bars right-aligned: bar i at dot column 4 + i
    assert (win.start, win.count, win.offset) == (0, 12, 4)
    rows, scale = plot(view, 8, 6, INST)
    assert scale is not None and (scale.lo, scale.hi, scale.top, scale.bottom) == (10.0, 20.0, 4, 19)
    grid = [cells(r) for r in rows]
    # the top fractal of bar 8 (dot column 12 -> cell 6): marker one cell row above its high (dot row 4 -> row 1)
    assert grid[0][6] == (TOP_MARK, "chan-top")
    # bottoms: bar 2 (dot column 6 -> cell 3) at 10.00 (dot row 19 -> row 4) gets its marker on row 5
    assert grid[5][3] == (BOTTOM_MARK, "chan-bottom")
    assert grid[4][7] == (BOTTOM_MARK, "chan-bottom")  # bar 11: column 15 -> cell 7; 14.00 -> dot row 13 -> row 3
    # the open segment covers the confirmed pen (same ends), drawn dashed: its first dot is at (6, 19) = cell (3, 4)
    assert grid[4][3][1] == "chan-seg-open"
    # the provisional pen from bar 8 (20.00) to bar 11 (14.00): dot columns 12..15, rows 4..13, dashed
    dots = line_dots(12, 4, 15, 13)
    drawn = [d for k, d in enumerate(dots) if k % 4 < 2]
    skipped = [d for k, d in enumerate(dots) if k % 4 >= 2]
    for x, y in drawn:
        ch, role = grid[y // 4][x // 2]
        assert role in ("chan-pen-open", "chan-top", "chan-bottom") or (role == "chan-seg-open" and x // 2 == 6)
        if role == "chan-pen-open":
            assert (ord(ch) - 0x2800) & (((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))[x % 2][y % 4])
    assert skipped  # the dash pattern leaves gaps


def test_histogram_hand_worked() -> None:
    rows = histogram([1.0, -1.0, 0.5, math.nan], 2, 2)
    # 8 dot rows, zero line between rows 3 and 4; +1 fills dot rows 0-3 of column 0, -1 rows 4-7 of column 1,
    # +0.5 rows 2-3 of column 2, NaN nothing
    assert [cells(r) for r in rows] == [
        [("⡇", "macd-pos"), ("⡄", "macd-pos")],
        [("⢸", "macd-neg"), (" ", "chan-bar")],
    ]


def test_chan_lines_layout() -> None:
    view = _hand_view()
    lines = chan_lines(view, 40, 20, INST, lambda p: f"{p:.2f}", note="analysis 9s behind")
    info = "".join(t for t, _ in lines[0])
    assert "1s bars x12" in info and "pens 2 (1 open)" in info and "segments 1 (1 open)" in info
    assert info.endswith("analysis 9s behind")
    assert len(lines) == 20
    texts = ["".join(t for t, _ in line) for line in lines]
    assert any(t.rstrip().endswith("20.00") for t in texts) and any(t.rstrip().endswith("10.00") for t in texts)
    assert any(t.startswith(" MACD standard 12/26/9  warming up") for t in texts)


def test_the_overlay_models_do_not_import_textual() -> None:
    code = (
        "import sys, desk.ui.chan_model, desk.ui.chan_geometry, desk.ui.backtest_model; print('textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"
