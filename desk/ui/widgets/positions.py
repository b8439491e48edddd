"""Positions per symbol with average entry and P&L, and the account's equity: a Line-API panel (no selection)."""

from __future__ import annotations

import time
from collections.abc import Callable

from desk.ui.gate import RedrawGate
from desk.ui.session import TradingSession
from desk.ui.trading_model import position_lines
from desk.ui.widgets.lines import LineWidget

MARK_INTERVAL_S = 1.0
"""A fill redraws at once; a moving mark at most once a second."""


class PositionsPanel(LineWidget):
    def __init__(self, *, id: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(id=id)
        self.gate = RedrawGate(MARK_INTERVAL_S, clock)

    def show(self, session: TradingSession) -> None:
        portfolio = session.desk.portfolio
        width, height = self.size
        if not self.gate.due((portfolio.version, width, height)):
            return
        self.set_panel("positions", position_lines(portfolio, session.desk.mids(), width), width)
