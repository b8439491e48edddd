"""The base of desk's live widgets: Line-API rendering of ``desk.ui.model`` lines with a strip cache.

Why the Line API: a ladder or tape redrawn at 15 Hz through Rich tables or ``DataTable`` costs 15-40 ms a frame;
turning each line into a ``Strip`` once and reusing it while the line is unchanged costs about 3 ms
(references/textual-live-data.md). Subclasses decide *when* their lines change (by comparing sequence numbers)
and hand finished lines to ``set_lines``; this class only paints.

Why ``render_lines`` is overridden: Textual's generic path (``StylesCache``) re-wraps every repainted line in a
new ``Strip`` after checking borders, padding, hatch, tint and opacity, and the compositor re-renders every
widget under a frame's dirty area. The desk's panels use none of those styles, so their finished strips already
are the final pixels: handing them over as they are halves the cost of a repainted line and makes an unchanged
panel's lines free (benchmarks/bench_ui.py). A panel that does get a border, padding, outline, tint, hatch or
opacity (a stylesheet or theme change) goes through Textual's path again, so it still renders exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import ClassVar, TypeVar

from rich.segment import Segment
from rich.style import Style
from textual.filter import ANSIToTruecolor, LineFilter
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from desk.ui.model import ROLES, Line, title_line

K = TypeVar("K")


class LineWidget(Widget):
    """Paints a list of lines; each role is styled by the component class ``line--<role>`` in the stylesheet."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {f"line--{role}" for role in ROLES}

    def __init__(self, *, id: str | None = None, classes: str | None = None, lines: Sequence[Line] = ()) -> None:
        super().__init__(id=id, classes=classes)
        self._lines: list[Line] = list(lines)
        # The strip of each shown line at ``_strip_width`` (None until painted): a frame reads these without
        # hashing a line, and only the strips on screen stay alive (each has seven small caches of its own).
        self._painted: list[Strip | None] = [None] * len(self._lines)
        self._paints = _RolePaints(self)
        self._strip_width = -1

    @property
    def lines(self) -> list[Line]:
        """The lines currently shown (what tests and screenshots read)."""
        return self._lines

    def set_lines(self, lines: list[Line], width: int | None = None) -> bool:
        """Show ``lines``; repaints only when they differ from what is shown. Returns whether they did.

        ``width``: the widget's width when the caller already has it (``Widget.size`` costs a screen lookup).
        """
        old = self._lines
        if lines == old:
            return False
        width = self.size.width if width is None else width
        old_strips = self._painted
        changed: Sequence[int]
        if len(lines) != len(old):
            changed = range(len(lines))
            self._painted = [None] * len(lines)
        else:
            changed = [y for y, (new, was) in enumerate(zip(lines, old, strict=True)) if new != was]
        self._lines = lines
        self._paint(changed, old, old_strips, width)
        # Repaint only the rows that changed (each repainted row costs the compositor and the terminal tens of
        # microseconds; a ladder keeps its title and header, a chart most of its rows), one region per run of rows.
        if len(lines) != len(old):
            self.refresh()
        else:
            self.refresh(*(Region(0, top, width, bottom - top) for top, bottom in _runs(changed)))
        return True

    def _paint(self, rows: Sequence[int], old: list[Line], old_strips: list[Strip | None], width: int) -> None:
        """Strips for the changed ``rows``, reusing those of ``old`` lines that come back on another row (the tape
        moves down a row per trade, a chart's rows repeat)."""
        lines, painted = self._lines, self._painted
        wanted = {lines[y] for y in rows}
        old_rows = rows if len(old) == len(lines) else range(len(old))
        reuse = {line: strip for y in old_rows if (line := old[y]) in wanted and (strip := old_strips[y]) is not None}
        # Built here rather than when painted, so each old strip goes as its replacement comes: the garbage
        # collector counts allocations net of frees, and a frame's worth of new strips at once would start it.
        # Before the first paint at this width the styles may not be ready: those rows are built when painted.
        build = self._build if width == self._strip_width else None
        for y in rows:
            line = lines[y]
            strip = reuse.get(line)
            if strip is None and build is not None:
                strip = reuse[line] = build(line, width)
            painted[y] = strip

    def set_panel(self, title: str, body: list[Line], width: int | None = None) -> bool:
        """Show ``body`` under a title row. Panels draw their own title instead of a CSS border: a border is
        re-rendered on every repainted line and cost about a third of each frame (benchmarks/bench_ui.py)."""
        width = self.size.width if width is None else width
        return self.set_lines([title_line(title, width), *body], width)

    def get_line_filters(self) -> Sequence[LineFilter]:
        # Every colour in these strips comes from the theme's component styles, already true colour (and under an
        # ANSI theme the app disables this filter itself), so ANSI-to-truecolor conversion has nothing to do here.
        # Skipping it saves a pass over every segment of every repainted line: about a fifth of a frame.
        return [f for f in self.app.get_line_filters() if not isinstance(f, ANSIToTruecolor)]

    def notify_style_update(self) -> None:
        # A theme or stylesheet change: cached strips carry the old colours.
        super().notify_style_update()
        self._paints.clear()
        self._painted = [None] * len(self._lines)

    def _base_style(self) -> Style:
        return self._paints[""][0]

    def render_lines(self, crop: Region) -> list[Strip]:
        if not paints_plain(self):
            return super().render_lines(crop)
        width = self.outer_size.width  # = the content width without a gutter, and no screen lookup
        strip_at = self._strip_at
        strips = [strip_at(y, width) for y in crop.line_range]
        filters = self.get_line_filters()
        if filters:
            background = self.background_colors[1]
            for line_filter in filters:
                strips = [strip.apply_filter(line_filter, background) for strip in strips]
        x1, x2 = crop.column_span
        if x1 or x2 != width:
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips

    def render_line(self, y: int) -> Strip:
        return self._strip_at(y, self.size.width)

    def _strip_at(self, y: int, width: int) -> Strip:
        if width != self._strip_width:
            self._strip_width = width
            self._painted = [None] * len(self._lines)
        if y >= len(self._lines):
            return Strip.blank(width, self._base_style())
        strip = self._painted[y]
        if strip is None:
            strip = self._painted[y] = self._build(self._lines[y], width)
        return strip

    def _build(self, line: Line, width: int) -> Strip:
        """One ``Strip`` of exactly ``width`` cells (desk text is all single-width: digits, blocks, braille)."""
        paints = self._paints
        segments, used = join_cells(line, paints, width, paints[""])
        if used > width:
            return PanelStrip(Strip(segments, used).crop(0, width), width)
        return PanelStrip(segments, width)


def _runs(rows: Sequence[int]) -> Iterator[tuple[int, int]]:
    """Ascending ``rows`` as (first, last + 1) runs of consecutive rows."""
    top = bottom = -1
    for y in rows:
        if y != bottom:
            if bottom > top:
                yield top, bottom
            top = y
        bottom = y + 1
    if bottom > top:
        yield top, bottom


class PanelStrip(Strip):
    """A ``Strip`` that the garbage collector never has to free.

    The compositor divides every painted line at the screen's cuts; a panel line that fills its slot is divided
    at its own length, and ``Strip.divide`` caches the answer ``[self]`` inside the strip: a reference cycle, so
    the strip (with its segments and seven small caches) outlives its last use until a collection finds it. At
    15 Hz that was about 800 strips a second, nearly all the UI's garbage-collector work (GC pauses set the
    event loop's worst lag). Answering that one case without caching it lets the strip go by reference counting.
    """

    __slots__ = ()

    def divide(self, cuts: Iterable[int]) -> Sequence[Strip]:
        cell_length = self.cell_length
        cuts = [cut for cut in cuts if cut <= cell_length]
        if cuts == [cell_length]:
            return [self]
        return super().divide(cuts)


def paints_plain(widget: Widget) -> bool:
    """Whether Textual's per-line styling pass would leave ``widget``'s own lines as they are: no border or
    padding, outline, tint, hatch, keyline or (inherited) opacity."""
    styles = widget.styles
    if styles.gutter or styles.tint.a or styles.text_opacity != 1.0 or widget.opacity != 1.0:
        return False
    keyline: str = styles.keyline[0]  # "none" when unset, whatever the annotation says
    if any(edge for edge, _ in styles.outline) or keyline != "none":
        return False
    return not (styles.has_rule("hatch") and styles.hatch != "none")


Paint = tuple[Style, object]
"""A style and how a blank cell in it looks (``_blank_look``); ``paint`` makes one per distinct style."""


def paint(style: Style) -> Paint:
    """``style``'s paint. Equal styles get the same style object (``muted`` and ``label`` are equal in the desk's
    themes), so ``join_cells`` can tell them equal by identity."""
    found = _PAINTS.get(style)
    if found is None:
        if len(_PAINTS) >= 1024:  # theme after theme: start again rather than grow (only costs some joins)
            _PAINTS.clear()
        found = _PAINTS[style] = (style, _blank_look(style))
    return found


_PAINTS: dict[Style, Paint] = {}


class _RolePaints(dict[str, Paint]):
    """A widget's paint per role, looked up in its component styles the first time (``""``: the widget's own)."""

    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self._widget = widget

    def __missing__(self, role: str) -> Paint:
        widget = self._widget
        # ``Widget.rich_style`` walks the ancestors on every call (about 0.1 ms): asked once per role, not per line.
        style = widget.rich_style if role == "" else widget.get_component_rich_style(f"line--{role}")
        found = self[role] = paint(style)
        return found


def join_cells(
    cells: Iterable[tuple[str, K]], paints: Mapping[K, Paint], width: int, pad: Paint
) -> tuple[list[Segment], int]:
    """Segments for ``cells`` (text, key of its paint in ``paints``), padded with spaces in ``pad`` to ``width``;
    and the cells' length.

    Every style change costs a full escape sequence (about 40 bytes in true colour) on the wire and a segment to
    divide, compose and encode. So cells whose styles are equal join one segment, and a run of spaces joins its
    neighbour when it looks the same in either style (same background, nothing drawn on a blank cell): the pixels
    are unchanged, only the escape sequences go. This runs for every changed line of every frame, so it
    compares paints by identity (``paint`` makes equal styles one object).
    """
    segments: list[Segment] = []
    run = ""
    run_style: Style | None = None
    run_look: object = None  # how the run's blank cells look (None: they cannot take another style)
    run_blank = False  # whether the run is only spaces
    used = 0
    for text, key in cells:
        if not text:
            continue
        used += len(text)
        style, look = paints[key]
        blank = not text.strip(" ")
        if style is run_style:
            run += text
            run_blank = run_blank and blank
        elif run_style is not None and (blank or run_blank) and look == run_look is not None:
            if not blank:  # the run's spaces take the new style
                run_style, run_look, run_blank = style, look, False
            run += text
        else:
            if run_style is not None:
                segments.append(Segment(run, run_style))
            run, run_style, run_look, run_blank = text, style, look, blank
    if used < width:
        pad_style, pad_look = pad
        if run_style is not None and (pad_style is run_style or pad_look == run_look is not None):
            run += " " * (width - used)
        else:
            if run_style is not None:
                segments.append(Segment(run, run_style))
            run, run_style = " " * (width - used), pad_style
    if run_style is not None:
        segments.append(Segment(run, run_style))
    return segments, used


def _blank_look(style: Style) -> object:
    """How a blank cell in ``style`` looks: its background; None when the style also draws on blank cells
    (underline, strike, overline, reverse video, a link), so its spaces must keep it."""
    if style.underline or style.underline2 or style.strike or style.overline or style.reverse or style.link:
        return None
    return style.bgcolor
