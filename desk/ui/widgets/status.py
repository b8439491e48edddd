"""The one-line status bar: venue, symbol, feed state, message rate and age, book state, clock."""

from __future__ import annotations

from desk.ui.model import StatusInfo, status_line
from desk.ui.widgets.lines import LineWidget


class StatusBar(LineWidget):
    def show(self, info: StatusInfo) -> None:
        # Built every tick (the clock and message age move), painted only when the text changed.
        self.set_lines([status_line(info)])
