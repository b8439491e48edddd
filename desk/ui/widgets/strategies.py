"""The strategies panel: each instance with its state and P&L; the row under the cursor is the one the
start/pause/stop/edit keys act on."""

from __future__ import annotations

import time
from collections.abc import Callable

from desk.ui.gate import RedrawGate
from desk.ui.session import TradingSession
from desk.ui.trading_model import STRATEGY_COLUMNS, strategy_rows
from desk.ui.widgets.tables import SyncedTable

PNL_INTERVAL_S = 1.0
"""P&L moves with every mark; between state changes the panel redraws at most once a second."""


class StrategiesTable(SyncedTable):
    def __init__(self, *, id: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(STRATEGY_COLUMNS, id=id)
        self.gate = RedrawGate(PNL_INTERVAL_S, clock)

    def show(self, session: TradingSession) -> None:
        runner = session.desk.runner
        if not self.gate.due((runner.version, session.desk.portfolio.version)):
            return
        desk = session.desk
        self.sync(strategy_rows(runner.instances.values(), desk.portfolio, desk.mids()))
