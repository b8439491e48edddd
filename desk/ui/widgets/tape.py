"""The trades tape: newest trade on top, aggressor side coloured."""

from __future__ import annotations

from desk.domain.events import Trade
from desk.engine import MarketView
from desk.ui.model import GridFormat, Line, tape_lines
from desk.ui.widgets.lines import LineWidget


class Tape(LineWidget):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._key: tuple[str, str, int, int, int] | None = None
        self._format: GridFormat | None = None
        self._rows: dict[Trade, Line] = {}  # formatted rows of trades on screen (a trade's row never changes)

    @property
    def rows(self) -> int:
        """Trades that fit under the header (what the app asks the engine for)."""
        return max(1, self.size.height - 2)  # under the title and header rows

    def show(self, view: MarketView) -> None:
        last = view.trades[-1] if view.trades else None
        width, height = self.size
        key = (view.symbol, last.trade_id if last else "", last.ts_ns if last else 0, width, height)
        if key == self._key:
            return
        self._key = key
        if self._format is None or self._format.instrument is not view.instrument:
            self._format = GridFormat(view.instrument)
            self._rows.clear()
        rows = max(1, height - 2)  # as ``self.rows``
        if len(self._rows) > 4 * rows + 64:
            self._rows.clear()
        self.set_panel(f"trades {view.symbol}", tape_lines(view.trades, rows, self._format, self._rows), width)
