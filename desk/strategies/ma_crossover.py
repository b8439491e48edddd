"""Moving-average crossover: long (or short) while the fast SMA is above (below) the slow SMA.

The averages are compared exactly: running sums of integer ticks, ``fast_sum * slow`` against ``slow_sum * fast``,
so a tie is a tie and the event-driven and vectorised versions (``vector_targets``) can never disagree through
float rounding.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from desk.domain.events import Bar
from desk.strategies.base import BarColumns, Strategy, StrategyContext
from desk.strategies.params import Param, ParamValue

if TYPE_CHECKING:
    import numpy.typing as npt

_UNCHECKED = object()  # matches no parameter value: the first bar validates the periods


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
        self.fast = int(self.p["fast"])
        self.slow = int(self.p["slow"])
        self.closes: deque[int] = deque(maxlen=self.slow)  # ticks
        # The parameter values the periods were last validated from. ``on_bar`` compares them by identity with
        # the live params (edited in place at runtime), which is cheaper than converting them on every bar.
        self._checked: tuple[object, object] = (_UNCHECKED, _UNCHECKED)
        self.fast_sum = 0
        self.slow_sum = 0
        self.last_sign = 0

    def _set_periods(self) -> None:
        fast, slow = int(self.p["fast"]), int(self.p["slow"])
        if fast >= slow:
            raise ValueError(f"fast ({fast}) must be below slow ({slow})")
        self._checked = (self.p["fast"], self.p["slow"])
        if fast != self.fast or slow != self.slow or self.closes.maxlen != slow:
            self.closes = deque(self.closes, maxlen=slow)
            self.fast, self.slow = fast, slow
            self._resum()

    def _resum(self) -> None:
        values = list(self.closes)
        self.fast_sum = sum(values[-self.fast :])
        self.slow_sum = sum(values)

    def on_bar(self, bar: Bar) -> None:
        p = self.p
        checked = self._checked
        if p["fast"] is not checked[0] or p["slow"] is not checked[1]:
            self._set_periods()  # first bar, or parameters edited at runtime
        fast = self.fast
        slow = self.slow
        closes = self.closes
        n = len(closes)
        ticks = bar.close
        fast_sum = self.fast_sum + ticks
        slow_sum = self.slow_sum + ticks
        if n >= fast:  # the window is full: the oldest value leaves it (fast < slow, so also for the slow one)
            fast_sum -= closes[n - fast]
            if n == slow:
                slow_sum -= closes[0]
        closes.append(ticks)
        self.fast_sum = fast_sum
        self.slow_sum = slow_sum
        if n + 1 < slow:
            return
        diff = fast_sum * slow - slow_sum * fast
        sign = (diff > 0) - (diff < 0)
        if sign == 0 or sign == self.last_sign:
            return
        first = self.last_sign == 0
        self.last_sign = sign
        if first and self.ctx.position() == 0:
            return  # act on crosses, not on the state found at start-up
        price = self.close_price(bar)
        lots = self.lots_for_notional(float(self.ctx.account_value()) * float(p["position_size"]), price)
        if sign > 0:
            self.move_to(lots, "fast above slow")
        else:
            self.move_to(-lots if p["allow_short"] else 0, "fast below slow")

    @classmethod
    def vector_targets(cls, params: Mapping[str, ParamValue], bars: BarColumns) -> npt.NDArray[np.float64] | None:
        fast, slow = int(params["fast"]), int(params["slow"])
        if fast >= slow:
            raise ValueError(f"fast ({fast}) must be below slow ({slow})")
        close = bars.close
        n = close.shape[0]
        target = np.full(n, np.nan)
        if n < slow:
            return target
        sums = np.empty(n + 1, dtype=np.int64)
        sums[0] = 0
        np.cumsum(close, out=sums[1:])
        end = sums[slow:]  # sum of close[0..t] for t >= slow - 1
        diff = (end - sums[slow - fast : n + 1 - fast]) * slow - (end - sums[: n + 1 - slow]) * fast
        sign = np.zeros(n, dtype=np.int8)
        sign[slow - 1 :] = np.sign(diff)
        # The last non-zero sign before each bar (ties keep the previous state, as on_bar does).
        where = np.where(sign != 0, np.arange(n), -1)
        np.maximum.accumulate(where, out=where)
        prev_idx = np.empty(n, dtype=np.int64)
        prev_idx[0] = -1
        prev_idx[1:] = where[:-1]
        prev = np.where(prev_idx >= 0, sign[np.maximum(prev_idx, 0)], 0)
        act = (sign != 0) & (prev != 0) & (sign != prev)
        size = float(params["position_size"])
        target[act & (sign > 0)] = size
        target[act & (sign < 0)] = -size if params["allow_short"] else 0.0
        return target
