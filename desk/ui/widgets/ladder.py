"""The depth ladder: asks above, bids below, the spread/mid row between them."""

from __future__ import annotations

from collections.abc import Mapping

from desk.engine import MarketView
from desk.ui.model import GridFormat, ladder_lines
from desk.ui.widgets.lines import LineWidget


class Ladder(LineWidget):
    """Redraws when the symbol's sequence number (or the widget's size) changes, never per feed update."""

    def __init__(self, depth: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.depth = depth
        self._key: tuple[object, ...] | None = None
        self._format: GridFormat | None = None

    def shown_depth(self, height: int | None = None) -> int:
        """Levels a side that fit: the configured depth, fewer if the widget (``height`` rows) is short."""
        height = self.size.height if height is None else height
        room = (height - 3) // 2  # title, header and spread rows, then the two sides
        return max(1, min(self.depth, room)) if height else self.depth

    def show(self, view: MarketView, own: tuple[Mapping[int, int], Mapping[int, int]] | None = None) -> None:
        """``own``: our resting lots per price (bids, asks) to mark in the "mine" column; None hides the column."""
        own_key = None if own is None else (tuple(own[0].items()), tuple(own[1].items()))
        width, height = self.size
        key = (view.symbol, view.seq, width, height, own_key)
        if key == self._key:
            return
        self._key = key
        if self._format is None or self._format.instrument is not view.instrument:
            self._format = GridFormat(view.instrument)
        body = ladder_lines(view, self.shown_depth(height), width, self._format, own)
        self.set_panel(f"depth {view.symbol}", body, width)
