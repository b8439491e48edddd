"""Bollinger squeeze breakout: after the bands narrow, trade the close that breaks out of them.

Bands: SMA(period) +/- k * population std (TA-Lib's BBANDS convention) of the ``period`` closes *before* the
current bar: a close is judged against bands it did not move (a band that includes the breakout bar can never be
broken by it when period is small: one outlier in n closes sits at most (n-1)/sqrt(n) std from their mean).
Bandwidth = (upper - lower) / middle.
A squeeze is a bandwidth at or below ``squeeze_threshold``; within ``breakout_window`` bars after a squeeze, a
close above the upper band (by ``breakout_pct``) goes long, below the lower band goes short (if allowed). The
position is closed when the close crosses back over the middle band.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from desk.domain.events import Bar
from desk.strategies.base import Strategy, StrategyContext
from desk.strategies.params import Param


class BollingerSqueeze(Strategy):
    name = "bollinger_squeeze"
    doc = "Trade breakouts from a Bollinger-band squeeze; exit at the middle band."
    params = (
        Param("period", int, 20, "Bars in the moving average and std.", min=2, max=10_000),
        Param("k", float, 2.0, "Band width in standard deviations.", min=0.1, max=10),
        Param("squeeze_threshold", float, 0.004, "Bandwidth (upper-lower)/middle that counts as a squeeze.", min=0),
        Param("breakout_pct", float, 0.0, "How far beyond the band the close must be (fraction).", min=0, max=0.5),
        Param("breakout_window", int, 10, "Bars after a squeeze in which a breakout counts.", min=1, max=10_000),
        Param("position_size", float, 0.1, "Position notional as a fraction of account value.", min=0, max=1),
        Param("allow_short", bool, True, "Trade downside breakouts short."),
    )

    def __init__(self, ctx: StrategyContext) -> None:
        super().__init__(ctx)
        self.closes: deque[float] = deque(maxlen=int(self.p["period"]))
        self.bars_since_squeeze: int | None = None
        self.bandwidth: float | None = None

    def on_bar(self, bar: Bar) -> None:
        period = int(self.p["period"])
        if self.closes.maxlen != period:
            self.closes = deque(self.closes, maxlen=period)
        price = self.close_price(bar)
        if len(self.closes) < period:
            self.closes.append(price)
            return
        window = np.fromiter(self.closes, dtype=float)
        self.closes.append(price)
        middle = float(window.mean())
        width = float(self.p["k"]) * float(window.std())
        upper, lower = middle + width, middle - width
        self.bandwidth = (upper - lower) / middle if middle else None
        position = self.ctx.position()
        if position:
            if (position > 0 and price <= middle) or (position < 0 and price >= middle):
                self.move_to(0, "back to the middle band")
            return
        if self.bandwidth is not None and self.bandwidth <= float(self.p["squeeze_threshold"]):
            self.bars_since_squeeze = 0  # the bands this bar is judged against are squeezed
        elif self.bars_since_squeeze is not None:
            self.bars_since_squeeze += 1
        if self.bars_since_squeeze is None or self.bars_since_squeeze > int(self.p["breakout_window"]):
            self.bars_since_squeeze = None
            return
        margin = float(self.p["breakout_pct"])
        lots = self.lots_for_notional(float(self.ctx.account_value()) * float(self.p["position_size"]), price)
        if price > upper * (1 + margin):
            self.move_to(lots, "upside breakout")
            self.bars_since_squeeze = None
        elif price < lower * (1 - margin) and self.p["allow_short"]:
            self.move_to(-lots, "downside breakout")
            self.bars_since_squeeze = None
