"""The risk panel: breaker, VaR/ES per method and confidence with contributions, every limit's gauge, rejections.

Redraws at once when the monitor's version moves (a VaR report arrived, a rejection, a breaker transition, a
fill) and otherwise at most twice a second: exposure and loss gauges move with the marks.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from desk.ui.gate import RedrawGate
from desk.ui.session import MIN_VAR_RETURNS, TradingSession
from desk.ui.trading_model import RiskView, risk_lines
from desk.ui.widgets.lines import LineWidget

GAUGE_INTERVAL_S = 0.5


class RiskPanel(LineWidget):
    def __init__(
        self,
        *,
        horizon: str,
        interval_s: float,
        id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(id=id)
        self.horizon = horizon
        self.interval_s = interval_s
        self.gate = RedrawGate(GAUGE_INTERVAL_S, clock)

    def show(self, session: TradingSession) -> None:
        monitor = session.monitor
        width, height = self.size
        if not width:  # not laid out yet: nothing to fit the lines to
            return
        # The count is shown only until there are enough returns: past that it must not force redraws.
        returns = min(session.var_returns(), MIN_VAR_RETURNS) if monitor.report is None else 0
        if not self.gate.due((monitor.version, id(monitor.report), returns, width, height)):
            return
        view = RiskView(
            breaker=monitor.breaker.state.value,
            breaker_reason=monitor.breaker.reason,
            report=monitor.report,
            uses=tuple(monitor.utilisation()),
            rejections=tuple(monitor.c.rejections),
            stale=tuple(sorted(monitor._stale)),
            method=monitor.var_method,
            confidence=monitor.var_confidence,
            horizon=self.horizon,
            interval_s=self.interval_s,
            returns=returns,
        )
        self.set_panel("risk", risk_lines(view, width), width)
