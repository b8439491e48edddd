"""Chan-theory divergence: trade the exhaustion of a move (docs/chan.md, "divergence").

The strategy feeds its bars to a streaming ``desk.chan.ChanAnalyzer``. A *bottom divergence* (a down pen or
segment makes a new low with less MACD area than the previous down move) signals selling exhaustion: go long.
A *top divergence* signals buying exhaustion: exit a long, or go short when allowed. Only a divergence whose
later move is the current (last) move counts: an old one is history. Exits: the opposite divergence, or the
stop at ``stop_loss_pct`` from the entry. Any error inside the analysis stops this strategy alone (ERROR),
never the desk.
"""

from __future__ import annotations

from desk.chan import ChanAnalyzer, ChanConfig, Divergence
from desk.domain.events import Bar, Trade
from desk.strategies.base import Strategy, StrategyContext
from desk.strategies.params import Param


class ChanDivergence(Strategy):
    name = "chan_divergence"
    doc = "Chan pens/segments with MACD-area divergence: buy bottom divergences, exit (or short) top ones."
    params = (
        Param("level", str, "pen", "Structure whose divergences trade: pen or segment.", choices=("pen", "segment")),
        Param("pen", str, "new_3kline", "Pen definition.", choices=("new_3kline", "traditional")),
        Param(
            "macd", str, "standard", "MACD preset (config/chan.toml).", choices=("standard", "fast", "slow", "scalping")
        ),
        Param("min_klines_between_turns", int, 3, "Raw bars strictly between a pen's extremes.", min=1, max=50),
        Param("divergence_ratio", float, 1.0, "Later area below ratio * earlier area diverges.", min=0.01, max=10),
        Param("require_confirmed", bool, False, "Act only once the divergence's pens are final."),
        Param("position_size", float, 0.1, "Position notional as a fraction of account value.", min=0, max=1),
        Param("stop_loss_pct", float, 0.02, "Stop distance from entry (fraction of price).", min=0.0001, max=0.5),
        Param("allow_short", bool, False, "Short top divergences instead of only exiting longs."),
    )

    def __init__(self, ctx: StrategyContext) -> None:
        super().__init__(ctx)
        self.analyzer = ChanAnalyzer(
            ChanConfig(
                pen=str(self.p["pen"]),  # type: ignore[arg-type]
                min_klines_between_turns=int(self.p["min_klines_between_turns"]),
                macd=str(self.p["macd"]),
                divergence_ratio=float(self.p["divergence_ratio"]),
            ),
            instrument=ctx.instrument,
        )
        self.acted: set[tuple[str, int, int]] = set()
        self.entry_price: float | None = None
        self.last: Divergence | None = None

    def on_bar(self, bar: Bar) -> None:
        state = self.analyzer.update(bar)
        if self.analyzer.config.macd != self.p["macd"]:  # parameter edited at runtime
            state = self.analyzer.set_macd(str(self.p["macd"]))
        segment = self.p["level"] == "segment"
        divergences = state.segment_divergences if segment else state.pen_divergences
        moves = len(state.segments) if segment else len(state.pens)
        if not divergences or moves == 0:
            return
        latest = divergences[-1]
        if latest.later != moves - 1:
            return  # not about the current move
        if self.p["require_confirmed"] and not latest.confirmed:
            return
        key = (latest.level, latest.earlier, latest.later)
        if key in self.acted:
            return
        self.acted.add(key)
        self.last = latest
        price = self.close_price(bar)
        lots = self.lots_for_notional(float(self.ctx.account_value()) * float(self.p["position_size"]), price)
        position = self.ctx.position()
        if latest.direction == "down":  # bottom divergence: sellers exhausted
            if position <= 0 and self.move_to(lots, "bottom divergence") is not None:
                self.entry_price = price
        elif position > 0 or (self.p["allow_short"] and position == 0):  # top divergence
            target = -lots if self.p["allow_short"] else 0
            if self.move_to(target, "top divergence") is not None:
                self.entry_price = price if target else None

    def on_trade(self, trade: Trade) -> None:
        position = self.ctx.position()
        if not position or self.entry_price is None:
            return
        price = self.ctx.instrument.price_float(trade.price)
        stop = float(self.p["stop_loss_pct"])
        if (position > 0 and price <= self.entry_price * (1 - stop)) or (
            position < 0 and price >= self.entry_price * (1 + stop)
        ):
            self.move_to(0, "stop loss")
            self.entry_price = None
