"""Moving-average crossover: long (or short) while the fast SMA is above (below) the slow SMA."""

from __future__ import annotations

from collections import deque

from desk.domain.events import Bar
from desk.strategies.base import Strategy, StrategyContext
from desk.strategies.params import Param


class MACrossover(Strategy):
    name = "ma_crossover"
    doc = "Trend following: hold long while SMA(fast) > SMA(slow); flat or short below. Acts on crosses only."
    params = (
        Param("fast", int, 10, "Bars in the fast simple moving average.", min=1, max=10_000),
        Param("slow", int, 30, "Bars in the slow simple moving average (> fast).", min=2, max=10_000),
        Param("position_size", float, 0.1, "Position notional as a fraction of account value.", min=0, max=1),
        Param("allow_short", bool, False, "Go short on a downward cross instead of flat."),
    )

    def __init__(self, ctx: StrategyContext) -> None:
        super().__init__(ctx)
        self.closes: deque[float] = deque(maxlen=int(self.p["slow"]))
        self.last_sign = 0

    def on_bar(self, bar: Bar) -> None:
        fast, slow = int(self.p["fast"]), int(self.p["slow"])
        if fast >= slow:
            raise ValueError(f"fast ({fast}) must be below slow ({slow})")
        if self.closes.maxlen != slow:
            self.closes = deque(self.closes, maxlen=slow)
        price = self.close_price(bar)
        self.closes.append(price)
        if len(self.closes) < slow:
            return
        values = list(self.closes)
        fast_ma = sum(values[-fast:]) / fast
        slow_ma = sum(values) / slow
        sign = (fast_ma > slow_ma) - (fast_ma < slow_ma)
        if sign == 0 or sign == self.last_sign:
            return
        first = self.last_sign == 0
        self.last_sign = sign
        if first and self.ctx.position() == 0:
            return  # act on crosses, not on the state found at start-up
        lots = self.lots_for_notional(float(self.ctx.account_value()) * float(self.p["position_size"]), price)
        if sign > 0:
            self.move_to(lots, "fast above slow")
        else:
            self.move_to(-lots if self.p["allow_short"] else 0, "fast below slow")
