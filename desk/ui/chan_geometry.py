"""Where the Chan overlay puts things: bars, pens, segments and fractals onto braille dots and terminal cells.

Pure functions on plain data (no Textual), so the mapping is tested cell by cell without a terminal.

Layout of the chart body (``chan_lines``): an info row; the price plot; a MACD label row; the MACD histogram.
In the plot every bar owns one braille dot column (two per cell), the newest at the right edge, so a pen from
bar ``a`` to bar ``b`` runs between exactly those columns. Prices map linearly onto dot rows between the window's
lowest low and highest high, leaving one cell row free above and below for the fractal markers (a top's ``▾``
above its high, a bottom's ``▴`` below its low). Layers, lowest first: bar ranges, confirmed pens, provisional
pens (dashed), confirmed segments, provisional segments (dashed), fractal markers. A cell shows only the dots of
the highest layer that reaches it, in that layer's colour, so a pen reads as a clean line through the bars.
The histogram shares the plot's dot columns: positive bars grow up from the zero line, negative ones down.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from desk.chan.model import Fractal, Pen, Segment
from desk.domain.instruments import Instrument
from desk.ui.chan_model import ChanView
from desk.ui.model import Line, fit

_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))  # braille bit of (dot column in cell, dot row)
_BRAILLE = [chr(0x2800 + bits) for bits in range(256)]

# Layers, lowest priority first: (role, dashed)
PRICE, PEN, PEN_OPEN, SEG, SEG_OPEN = range(5)
LAYER_ROLES = ("chan-bar", "chan-pen", "chan-pen-open", "chan-seg", "chan-seg-open")
DASH_ON, DASH_PERIOD = 2, 4  # provisional lines: 2 dots drawn, 2 skipped
TOP_MARK, BOTTOM_MARK = "▾", "▴"
ROLES = (*LAYER_ROLES, "chan-top", "chan-bottom", "macd-pos", "macd-neg")
"""Roles this chart adds to ``desk.ui.model.ROLES`` (styled in themes/desk.tcss)."""


@dataclass(frozen=True, slots=True)
class Scale:
    """Prices to dot rows: ``lo`` on the bottom usable row, ``hi`` on the top one (row 0 is the top of the grid)."""

    lo: float
    hi: float
    top: int  # first usable dot row
    bottom: int  # last usable dot row

    def row(self, price: float) -> int:
        span = self.hi - self.lo
        if span <= 0:
            return (self.top + self.bottom) // 2
        frac = (price - self.lo) / span
        return self.bottom - round(frac * (self.bottom - self.top))


def line_dots(x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int]]:
    """The dots of a straight line from (x0, y0) to (x1, y1), both ends included, each dot touching the next."""
    dx, dy = x1 - x0, y1 - y0
    steps = max(abs(dx), abs(dy))
    if steps == 0:
        return [(x0, y0)]
    return [(x0 + round(dx * k / steps), y0 + round(dy * k / steps)) for k in range(steps + 1)]


class Canvas:
    """A grid of braille cells with one dot layer per role; ``text`` cells (markers) sit on top of everything."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.layers: list[dict[tuple[int, int], int]] = [{} for _ in LAYER_ROLES]
        self.text: dict[tuple[int, int], tuple[str, str]] = {}

    def dot(self, x: int, y: int, layer: int) -> None:
        if 0 <= x < self.width * 2 and 0 <= y < self.height * 4:
            cell = (x // 2, y // 4)
            cells = self.layers[layer]
            cells[cell] = cells.get(cell, 0) | _BITS[x % 2][y % 4]

    def line(self, x0: int, y0: int, x1: int, y1: int, layer: int, dashed: bool = False) -> None:
        for k, (x, y) in enumerate(line_dots(x0, y0, x1, y1)):
            if not dashed or k % DASH_PERIOD < DASH_ON:
                self.dot(x, y, layer)

    def put(self, col: int, row: int, char: str, role: str) -> None:
        if 0 <= col < self.width and 0 <= row < self.height:
            self.text[(col, row)] = (char, role)

    def lines(self) -> list[Line]:
        out: list[Line] = []
        layers = list(enumerate(self.layers))[::-1]  # highest priority first
        for row in range(self.height):
            cells: list[tuple[str, str]] = []
            for col in range(self.width):
                key = (col, row)
                mark = self.text.get(key)
                if mark is not None:
                    cells.append(mark)
                    continue
                for layer, grid in layers:
                    bits = grid.get(key)
                    if bits:
                        cells.append((_BRAILLE[bits], LAYER_ROLES[layer]))
                        break
                else:
                    cells.append((" ", "chan-bar"))
            out.append(_merge(cells))
        return out


def _merge(cells: Iterable[tuple[str, str]]) -> Line:
    """Adjacent cells of one role as one cell: shorter lines, fewer segments to paint."""
    merged: list[tuple[str, str]] = []
    for text, role in cells:
        if merged and merged[-1][1] == role:
            merged[-1] = (merged[-1][0] + text, role)
        else:
            merged.append((text, role))
    return tuple(merged)


@dataclass(frozen=True, slots=True)
class Window:
    """Which bars are drawn: raw indices ``start .. start + count - 1`` at dot columns ``offset ..``."""

    start: int
    count: int
    offset: int

    def x(self, index: int) -> int:
        return self.offset + index - self.start


def window_for(view: ChanView, dot_columns: int) -> Window:
    count = min(len(view.bars), dot_columns)
    start = view.first_index + len(view.bars) - count
    return Window(start, count, dot_columns - count)


def visible_pens(pens: Sequence[Pen], start: int) -> list[tuple[int, Pen]]:
    """(index, pen) of the pens that reach into the window (end at or after raw bar ``start``), oldest first."""
    out: list[tuple[int, Pen]] = []
    for n in range(len(pens) - 1, -1, -1):
        pen = pens[n]
        if pen.end.index < start:
            break
        out.append((n, pen))
    return out[::-1]


def visible_segments(segments: Sequence[Segment], start: int) -> list[tuple[int, Segment]]:
    out: list[tuple[int, Segment]] = []
    for n in range(len(segments) - 1, -1, -1):
        seg = segments[n]
        if seg.end.index < start:
            break
        out.append((n, seg))
    return out[::-1]


def visible_fractals(fractals: Sequence[Fractal], start: int) -> list[Fractal]:
    out: list[Fractal] = []
    for n in range(len(fractals) - 1, -1, -1):
        f = fractals[n]
        if f.index < start:
            break
        out.append(f)
    return out[::-1]


def plot(view: ChanView, width: int, height: int, instrument: Instrument) -> tuple[list[Line], Scale | None]:
    """The price plot: ``height`` rows of ``width`` cells (see the module docstring), and its scale."""
    canvas = Canvas(width, height)
    win = window_for(view, width * 2)
    if win.count == 0 or height < 3:
        return canvas.lines(), None
    bars = view.bars[len(view.bars) - win.count :]
    price = instrument.price_float
    lo = min(price(b.low) for b in bars)
    hi = max(price(b.high) for b in bars)
    scale = Scale(lo, hi, 4, height * 4 - 5)  # a free cell row above and below for the markers
    for i, bar in enumerate(bars):
        x = win.offset + i
        canvas.line(x, scale.row(price(bar.high)), x, scale.row(price(bar.low)), PRICE)
    state = view.state
    if state is not None:
        for _, pen in visible_pens(state.pens, win.start):
            _stroke(canvas, win, scale, pen.start, pen.end, PEN if pen.confirmed else PEN_OPEN, not pen.confirmed)
        for _, seg in visible_segments(state.segments, win.start):
            _stroke(canvas, win, scale, seg.start, seg.end, SEG if seg.confirmed else SEG_OPEN, not seg.confirmed)
        for f in visible_fractals(state.fractals, win.start):
            col = win.x(f.index) // 2
            row = scale.row(f.price) // 4
            if f.kind == "top":
                canvas.put(col, row - 1, TOP_MARK, "chan-top")
            else:
                canvas.put(col, row + 1, BOTTOM_MARK, "chan-bottom")
    return canvas.lines(), scale


def _stroke(canvas: Canvas, win: Window, scale: Scale, a: Fractal, b: Fractal, layer: int, dashed: bool) -> None:
    canvas.line(win.x(a.index), scale.row(a.price), win.x(b.index), scale.row(b.price), layer, dashed)


def histogram(hist: Sequence[float], width: int, height: int) -> list[Line]:
    """MACD histogram bars on the plot's dot columns (the last ``2 * width`` values, right-aligned), zero line in
    the middle: a bar's length is ``|h| / max|h|`` of half the rows, at least one dot when ``h`` is not zero."""
    rows = height * 4
    half = rows // 2
    shown = list(hist[-width * 2 :])
    offset = width * 2 - len(shown)
    values = [abs(h) for h in shown if not math.isnan(h)]
    peak = max(values) if values else 0.0
    pos: dict[tuple[int, int], int] = {}
    neg: dict[tuple[int, int], int] = {}
    for i, h in enumerate(shown):
        if math.isnan(h) or h == 0.0 or peak == 0.0:
            continue
        length = max(1, round(abs(h) / peak * half))
        x = offset + i
        grid, dots = (pos, range(half - 1, half - 1 - length, -1)) if h > 0 else (neg, range(half, half + length))
        for y in dots:
            cell = (x // 2, y // 4)
            grid[cell] = grid.get(cell, 0) | _BITS[x % 2][y % 4]
    out: list[Line] = []
    for row in range(height):
        cells: list[tuple[str, str]] = []
        for col in range(width):
            key = (col, row)
            p, n = pos.get(key, 0), neg.get(key, 0)
            if p or n:  # one cell holds both only when the zero line runs through it (odd height)
                cells.append((_BRAILLE[p | n], "macd-pos" if p >= n else "macd-neg"))
            else:
                cells.append((" ", "chan-bar"))
        out.append(_merge(cells))
    return out


def macd_rows(body_height: int) -> int:
    """Rows for the histogram: a quarter of the body, even (the zero line then falls between two cell rows)."""
    rows = max(2, body_height // 4)
    return rows - rows % 2


def chan_lines(
    view: ChanView,
    width: int,
    height: int,
    instrument: Instrument,
    price_text: Callable[[float], str],
    note: str = "",
) -> list[Line]:
    """The chart body: info row, price plot with price labels on the right, MACD label row and histogram.

    ``note`` (e.g. how far the analysis trails the desk) is shown in the info row; an error replaces the plot.
    """
    if height < 6 or width < 16:
        return []
    info = _info(view, note)
    if view.error:
        message = f"chan analysis stopped: {view.error}. The desk carries on; c twice restarts the analysis."
        rows = textwrap.wrap(message, width - 2)[: height - 1]
        return [info, *(((fit(" " + row, width, right=False), "bad"),) for row in rows)]
    if not view.bars:
        return [info, ((" waiting for closed bars", "muted"),)]
    rows_macd = macd_rows(height - 1)
    rows_price = height - 2 - rows_macd
    price = instrument.price_float
    label_w = max(len(price_text(price(b.high))) for b in view.bars[-8:]) + 1
    plot_w = max(1, width - label_w - 1)
    body, scale = plot(view, plot_w, rows_price, instrument)
    lines: list[Line] = [info]
    for i, line in enumerate(body):
        tag = ""
        if scale is not None and i == scale.top // 4:
            tag = price_text(scale.hi)
        elif scale is not None and i == scale.bottom // 4:
            tag = price_text(scale.lo)
        lines.append((*line, (" " + fit(tag, label_w, right=False), "muted")))
    last_hist = next((h for h in reversed(view.hist) if not math.isnan(h)), math.nan)
    fast, slow, signal = view.macd
    hist_text = "warming up" if math.isnan(last_hist) else f"hist {last_hist:+.4g}"
    lines.append(((fit(f" MACD {view.preset} {fast}/{slow}/{signal}  {hist_text}", width, right=False), "label"),))
    lines.extend(histogram(view.hist, plot_w, rows_macd))
    return lines


def _info(view: ChanView, note: str) -> Line:
    state = view.state
    cells: list[tuple[str, str]] = [(f" {_timeframe(view.timeframe_s)} bars ", "label")]
    if state is not None:
        pens, segs = state.pens, state.segments
        open_pens = _unconfirmed(pens)
        open_segs = _unconfirmed(segs)
        cells += [
            (f"x{state.bars}", "value"),
            ("  pens ", "label"),
            (str(len(pens)), "chan-pen"),
            (f" ({open_pens} open)" if open_pens else "", "chan-pen-open"),
            ("  segments ", "label"),
            (str(len(segs)), "chan-seg"),
            (f" ({open_segs} open)" if open_segs else "", "chan-seg-open"),
            ("  fractals ", "label"),
            (str(len(state.fractals)), "value"),
        ]
        divs = state.divergences
        if divs:
            d = max(divs, key=lambda d: (d.later, d.level == "segment"))
            kind = "bottom" if d.direction == "down" else "top"
            cells.append((f"  {kind} divergence ({d.level} {d.later})", "accent"))
    if note:
        cells.append((f"  {note}", "warn"))
    return tuple(cells)


def _unconfirmed(moves: Sequence[Pen] | Sequence[Segment]) -> int:
    """Provisional moves: only the newest ones can be (confirmed ones are final and come first)."""
    n = 0
    for k in range(len(moves) - 1, -1, -1):
        if moves[k].confirmed:
            break
        n += 1
    return n


def _timeframe(seconds: int) -> str:
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"
