"""The price chart: a braille line of 1 s bar closes plus the live last price, with last and range labels.

A Line-API widget rather than Textual's ``Sparkline``: the stock widget builds a style per cell and cost about
8 ms more per redraw at this size (references/textual-live-data.md, pitfall 5).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from desk.engine import MarketView
from desk.ui.model import GridFormat, chart_lines, chart_series
from desk.ui.widgets.lines import LineWidget

LIVE_POINT_INTERVAL_S = 0.2
"""A chart of 1 s bars gains nothing from moving its live point at the full tick rate: between bar closes it
redraws at most five times a second (a bar close, a new symbol or a resize redraws at once)."""


class PriceChart(LineWidget):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._key: tuple[str, int, int, str, int, int] | None = None
        self._format: GridFormat | None = None
        self._drawn_at = 0.0
        self.clock: Callable[[], float] = time.monotonic  # replaceable in tests

    def show(self, view: MarketView) -> None:
        # Book deltas do not move the chart; only a new bar or a new trade does.
        last_bar = view.bars[-1].start_ns if view.bars else 0
        last_trade = view.trades[-1].trade_id if view.trades else ""
        width, height = self.size
        key = (view.symbol, len(view.bars), last_bar, last_trade, width, height)
        if key == self._key:
            return
        now = self.clock()
        old = self._key
        if (
            old is not None
            and key[:3] == old[:3]
            and key[4:] == old[4:]
            and now - self._drawn_at < LIVE_POINT_INTERVAL_S
        ):
            return  # only the live point moved, and it moved less than an interval ago
        self._key = key
        self._drawn_at = now
        if self._format is None or self._format.instrument is not view.instrument:
            self._format = GridFormat(view.instrument)
        label = "1s bars"
        body = chart_lines(chart_series(view), width, height - 1, self._format, label)
        self.set_panel(f"price {view.symbol}", body, width)
