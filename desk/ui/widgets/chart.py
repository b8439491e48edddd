"""The price chart: a braille line of 1 s bar closes plus the live last price, with last and range labels.

A Line-API widget rather than Textual's ``Sparkline``: the stock widget builds a style per cell and cost about
8 ms more per redraw at this size (references/textual-live-data.md, pitfall 5).
"""

from __future__ import annotations

from desk.engine import MarketView
from desk.ui.model import GridFormat, chart_lines, chart_series
from desk.ui.widgets.lines import LineWidget


class PriceChart(LineWidget):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._key: tuple[str, int, int, str, int, int] | None = None
        self._format: GridFormat | None = None

    def show(self, view: MarketView) -> None:
        # Book deltas do not move the chart; only a new bar or a new trade does.
        last_bar = view.bars[-1].start_ns if view.bars else 0
        last_trade = view.trades[-1].trade_id if view.trades else ""
        key = (view.symbol, len(view.bars), last_bar, last_trade, self.size.width, self.size.height)
        if key == self._key:
            return
        self._key = key
        if self._format is None or self._format.instrument is not view.instrument:
            self._format = GridFormat(view.instrument)
        label = "1s bars"
        body = chart_lines(chart_series(view), self.size.width, self.size.height - 1, self._format, label)
        self.set_panel(f"price {view.symbol}", body)
