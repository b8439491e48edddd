"""The base of desk's live widgets: Line-API rendering of ``desk.ui.model`` lines with a strip cache.

Why the Line API: a ladder or tape redrawn at 15 Hz through Rich tables or ``DataTable`` costs 15-40 ms a frame;
turning each line into a ``Strip`` once and reusing it while the line is unchanged costs about 3 ms
(references/textual-live-data.md). Subclasses decide *when* their lines change (by comparing sequence numbers)
and hand finished lines to ``set_lines``; this class only paints.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.strip import Strip
from textual.widget import Widget

from desk.ui.model import ROLES, Line


class LineWidget(Widget):
    """Paints a list of lines; each role is styled by the component class ``line--<role>`` in the stylesheet."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {f"line--{role}" for role in ROLES}

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._lines: list[Line] = []
        self._strips: LRUCache[Line, Strip] = LRUCache(1024)
        self._role_styles: dict[str, Style] = {}
        self._strip_width = -1

    @property
    def lines(self) -> list[Line]:
        """The lines currently shown (what tests and screenshots read)."""
        return self._lines

    def set_lines(self, lines: list[Line]) -> bool:
        """Show ``lines``; repaints only when they differ from what is shown. Returns whether they did."""
        if lines == self._lines:
            return False
        self._lines = lines
        self.refresh()
        return True

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

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if width != self._strip_width:
            self._strips.clear()
            self._strip_width = width
        if y >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        line = self._lines[y]
        strip = self._strips.get(line)
        if strip is None:
            segments = [Segment(text, self._role_style(role)) for text, role in line if text]
            strip = Strip(segments).crop_extend(0, width, self.rich_style)
            self._strips[line] = strip
        return strip
