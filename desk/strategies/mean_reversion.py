"""Mean reversion on the z-score of the close against its rolling mean.

Rules: z = (close - mean) / std over the last ``lookback_period`` closes (population std, the same convention as
``desk.indicators.zscore``). Enter long at z <= -entry_std_dev, short at z >= +entry_std_dev; exit when
|z| <= exit_std_dev; a stop at ``stop_loss_pct`` from the entry, checked on every trade. Size: the account risk
``risk_per_trade_pct`` * account value divided by the loss per unit at the stop (entry * stop_loss_pct),
capped at ``max_position_size`` * account value of notional.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from desk.domain.events import Bar, Trade
from desk.strategies.base import Strategy, StrategyContext
from desk.strategies.params import Param


class MeanReversion(Strategy):
    name = "mean_reversion"
    doc = "Fade z-score extremes of the close against its rolling mean, exit near the mean, stop-loss, risk sizing."
    params = (
        Param("lookback_period", int, 20, "Closes in the rolling mean and std.", min=2, max=10_000),
        Param("entry_std_dev", float, 2.0, "Enter when |z| reaches this.", min=0.1, max=10),
        Param("exit_std_dev", float, 0.5, "Exit when |z| falls to this.", min=0, max=10),
        Param("stop_loss_pct", float, 0.02, "Stop distance from entry, as a fraction of price.", min=0.0001, max=0.5),
        Param("risk_per_trade_pct", float, 0.01, "Account fraction lost if the stop is hit.", min=0.0001, max=0.2),
        Param("max_position_size", float, 0.1, "Cap on position notional, as a fraction of account.", min=0, max=1),
        Param("allow_short", bool, True, "Also fade upward extremes with shorts."),
    )

    def __init__(self, ctx: StrategyContext) -> None:
        super().__init__(ctx)
        self.closes: deque[float] = deque(maxlen=int(self.p["lookback_period"]))
        self.entry_price: float | None = None
        self.z: float | None = None

    def on_start(self) -> None:
        avg = self.ctx.avg_entry_ticks()
        if self.ctx.position() and avg is not None:  # resumed with a position: keep managing its stop
            self.entry_price = self.ctx.instrument.price_float(avg)

    def size_lots(self, price: float) -> int:
        account = float(self.ctx.account_value())
        risk_budget = account * float(self.p["risk_per_trade_pct"])
        loss_per_unit = price * float(self.p["stop_loss_pct"])
        by_risk = risk_budget / loss_per_unit
        by_cap = account * float(self.p["max_position_size"]) / price
        return self.ctx.instrument.round_size_to_lots(min(by_risk, by_cap))

    def on_bar(self, bar: Bar) -> None:
        lookback = int(self.p["lookback_period"])
        if self.closes.maxlen != lookback:  # parameter edited at runtime
            self.closes = deque(self.closes, maxlen=lookback)
        price = self.close_price(bar)
        self.closes.append(price)
        if len(self.closes) < lookback:
            return
        window = np.fromiter(self.closes, dtype=float, count=len(self.closes))
        std = float(window.std())
        if std <= 0:
            return
        z = (price - float(window.mean())) / std
        self.z = z
        position = self.ctx.position()
        entry, exit_ = float(self.p["entry_std_dev"]), float(self.p["exit_std_dev"])
        if position == 0:
            target = 0
            if z <= -entry:
                target = self.size_lots(price)
            elif z >= entry and self.p["allow_short"]:
                target = -self.size_lots(price)
            if target and self.move_to(target, "enter") is not None:
                self.entry_price = price
        elif abs(z) <= exit_:
            self.move_to(0, "exit at mean")
            self.entry_price = None

    def on_trade(self, trade: Trade) -> None:
        position = self.ctx.position()
        if not position or self.entry_price is None:
            return
        price = self.ctx.instrument.price_float(trade.price)
        stop = float(self.p["stop_loss_pct"])
        if (position > 0 and price <= self.entry_price * (1 - stop)) or (
            position < 0 and price >= self.entry_price * (1 + stop)
        ):
            self.ctx.log(f"stop at {price:.8g} (entry {self.entry_price:.8g})")
            self.move_to(0, "stop loss")
            self.entry_price = None
