"""The base of desk's live widgets: Line-API rendering of ``desk.ui.model`` lines with a strip cache.

Why the Line API: a ladder or tape redrawn at 15 Hz through Rich tables or ``DataTable`` costs 15-40 ms a frame;
turning each line into a ``Strip`` once and reusing it while the line is unchanged costs about 3 ms
(references/textual-live-data.md). Subclasses decide *when* their lines change (by comparing sequence numbers)
and hand finished lines to ``set_lines``; this class only paints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.filter import ANSIToTruecolor, LineFilter
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from desk.ui.model import ROLES, Line, title_line


class LineWidget(Widget):
    """Paints a list of lines; each role is styled by the component class ``line--<role>`` in the stylesheet."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {f"line--{role}" for role in ROLES}

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._lines: list[Line] = []
        # Sized to the widget on resize: enough for this frame's and the last frame's lines. A bigger cache keeps
        # thousands of dead strips (each with seven small caches of its own) alive for the collector to walk.
        self._strips: LRUCache[Line, Strip] = LRUCache(128)
        self._role_styles: dict[str, Style] = {}
        self._strip_width = -1

    @property
    def lines(self) -> list[Line]:
        """The lines currently shown (what tests and screenshots read)."""
        return self._lines

    def set_lines(self, lines: list[Line]) -> bool:
        """Show ``lines``; repaints only when they differ from what is shown. Returns whether they did."""
        old = self._lines
        if lines == old:
            return False
        self._lines = lines
        if len(lines) != len(old):
            self.refresh()
            return True
        # Repaint only the rows that changed: a chart or tape often changes a few rows a tick, and each repainted
        # row costs the compositor tens of microseconds. When most rows changed, one full refresh is cheaper.
        changed = [y for y, (new, was) in enumerate(zip(lines, old, strict=True)) if new != was]
        if len(changed) * 2 > len(lines):
            self.refresh()
        else:
            width = self.size.width
            self.refresh(*(Region(0, y, width, 1) for y in changed))
        return True

    def set_panel(self, title: str, body: list[Line]) -> bool:
        """Show ``body`` under a title row. Panels draw their own title instead of a CSS border: a border is
        re-rendered on every repainted line and cost about a third of each frame (benchmarks/bench_ui.py)."""
        return self.set_lines([title_line(title, self.size.width), *body])

    def get_line_filters(self) -> Sequence[LineFilter]:
        # Every colour in these strips comes from the theme's component styles, already true colour (and under an
        # ANSI theme the app disables this filter itself), so ANSI-to-truecolor conversion has nothing to do here.
        # Skipping it saves a pass over every segment of every repainted line: about a fifth of a frame.
        return [f for f in self.app.get_line_filters() if not isinstance(f, ANSIToTruecolor)]

    def notify_style_update(self) -> None:
        # A theme or stylesheet change: cached strips carry the old colours.
        super().notify_style_update()
        self._role_styles.clear()
        self._strips.clear()

    def _role_style(self, role: str) -> Style:
        style = self._role_styles.get(role)
        if style is None:
            style = self._role_styles[role] = self.get_component_rich_style(f"line--{role}")
        return style

    def _base_style(self) -> Style:
        # ``Widget.rich_style`` walks the ancestors on every call (about 0.1 ms): too slow per line per frame.
        style = self._role_styles.get("")
        if style is None:
            style = self._role_styles[""] = self.rich_style
        return style

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if width != self._strip_width:
            self._strips = LRUCache(max(16, 2 * self.size.height + 8))
            self._strip_width = width
        if y >= len(self._lines):
            return Strip.blank(width, self._base_style())
        line = self._lines[y]
        strip = self._strips.get(line)
        if strip is None:
            strip = self._strips[line] = self._build(line, width)
        return strip

    def _build(self, line: Line, width: int) -> Strip:
        """One ``Strip`` of exactly ``width`` cells (desk text is all single-width: digits, blocks, braille)."""
        # Adjacent cells of one role become one segment: fewer segments to filter, compose and encode.
        segments: list[Segment] = []
        last_role = None
        used = 0
        for text, role in line:
            if not text:
                continue
            used += len(text)
            if role == last_role:
                segments[-1] = Segment(segments[-1].text + text, segments[-1].style)
            else:
                segments.append(Segment(text, self._role_style(role)))
                last_role = role
        if used < width:
            segments.append(Segment(" " * (width - used), self._base_style()))
        elif used > width:
            return Strip(segments, used).crop(0, width)
        return Strip(segments, width)
