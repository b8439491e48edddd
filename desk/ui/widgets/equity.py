"""The equity sparkline: the portfolio's sampled equity curve as a braille line (Line API, like the chart)."""

from __future__ import annotations

from desk.portfolio import Portfolio
from desk.ui.trading_model import equity_lines
from desk.ui.widgets.lines import LineWidget


class EquityChart(LineWidget):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._key: tuple[int, int, int, int] | None = None

    def show(self, portfolio: Portfolio) -> None:
        # The curve gains a point at most once a second of event time: redraw only then.
        curve = portfolio.equity_curve
        width, height = self.size
        key = (len(curve), curve[-1][0] if curve else 0, width, height)
        if key == self._key:
            return
        self._key = key
        start = float(portfolio.starting_value)
        body = equity_lines(curve, start, portfolio.max_drawdown, width, height - 1)
        self.set_panel("equity", body, width)
