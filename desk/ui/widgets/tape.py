"""The trades tape: newest trade on top, aggressor side coloured."""

from __future__ import annotations

from desk.engine import MarketView
from desk.ui.model import GridFormat, tape_lines
from desk.ui.widgets.lines import LineWidget


class Tape(LineWidget):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._key: tuple[str, str, int, int, int] | None = None
        self._format: GridFormat | None = None

    @property
    def rows(self) -> int:
        """Trades that fit under the header (what the app asks the engine for)."""
        return max(1, self.size.height - 1)

    def show(self, view: MarketView) -> None:
        last = view.trades[-1] if view.trades else None
        key = (
            view.symbol,
            last.trade_id if last else "",
            last.ts_ns if last else 0,
            self.size.width,
            self.size.height,
        )
        if key == self._key:
            return
        if self._key is None or self._key[0] != view.symbol:
            self.border_title = f"trades {view.symbol}"
        self._key = key
        if self._format is None or self._format.instrument is not view.instrument:
            self._format = GridFormat(view.instrument)
        self.set_lines(tape_lines(view.trades, self.rows, self._format))
