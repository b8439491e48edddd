"""RSI reversion: buy oversold, exit when RSI recovers; optionally short overbought.

RSI is Wilder's (``desk.indicators.rsi``), computed over the last ``HISTORY`` closes; Wilder smoothing forgets
its seed geometrically ((n-1)/n per bar), so after 50 periods the value equals the full-history RSI to far
below float precision.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from desk.domain.events import Bar
from desk.strategies.base import Strategy, StrategyContext
from desk.strategies.params import Param


class RSIReversion(Strategy):
    name = "rsi_reversion"
    doc = "Buy when RSI is oversold, sell when it is overbought (short optional); exit at the midline."
    params = (
        Param("period", int, 14, "RSI period (Wilder smoothing).", min=2, max=500),
        Param("oversold", float, 30.0, "Enter long below this RSI.", min=0, max=100),
        Param("overbought", float, 70.0, "Enter short (or exit long) above this RSI.", min=0, max=100),
        Param("exit_level", float, 50.0, "Exit a position when RSI crosses back over this.", min=0, max=100),
        Param("position_size", float, 0.1, "Position notional as a fraction of account value.", min=0, max=1),
        Param("allow_short", bool, False, "Short when overbought."),
    )

    def __init__(self, ctx: StrategyContext) -> None:
        super().__init__(ctx)
        self.closes: deque[float] = deque(maxlen=max(200, 50 * int(self.p["period"])))
        self.rsi: float | None = None

    def on_bar(self, bar: Bar) -> None:
        from desk.indicators import rsi

        period = int(self.p["period"])
        price = self.close_price(bar)
        self.closes.append(price)
        if len(self.closes) <= period:
            return
        value = float(rsi(np.fromiter(self.closes, dtype=float), period)[-1])
        if value != value:  # NaN during warm-up
            return
        self.rsi = value
        position = self.ctx.position()
        lots = self.lots_for_notional(float(self.ctx.account_value()) * float(self.p["position_size"]), price)
        if position == 0:
            if value < float(self.p["oversold"]):
                self.move_to(lots, "oversold")
            elif value > float(self.p["overbought"]) and self.p["allow_short"]:
                self.move_to(-lots, "overbought")
        elif (position > 0 and value >= float(self.p["exit_level"])) or (
            position < 0 and value <= float(self.p["exit_level"])
        ):
            self.move_to(0, "back to the midline")
