"""Two-sided quoting around the mid with inventory control.

Every ``refresh_interval`` seconds: fair = mid; skew = -inventory_skew_bps * (inventory / max_inventory) shifts
both quotes against the inventory (a long book quotes lower to sell more and buy less); bid and ask sit
``spread_bps / 2`` either side of the skewed fair, rounded away from the mid onto the tick grid, post-only. A
side whose fill would take the inventory beyond ``max_inventory`` (notional) is not quoted. Quotes are moved
with cancel/replace only when their price changes, so a quote keeps its queue position while it is still right.
"""

from __future__ import annotations

import math

from desk.domain.events import Side
from desk.execution.orders import Fill, Order
from desk.strategies.base import Strategy, StrategyContext
from desk.strategies.params import Param


class MarketMaker(Strategy):
    name = "market_maker"
    doc = "Quote both sides around the mid (post-only), skewed against inventory, within an inventory cap."
    params = (
        Param("spread_bps", float, 10.0, "Distance between our bid and ask, in basis points of mid.", min=0.1),
        Param("quote_size", float, 500.0, "Size of each quote, as quote-currency notional.", min=0),
        Param("max_inventory", float, 2000.0, "Largest position notional either way.", min=0),
        Param("refresh_interval", float, 1.0, "Seconds between quote refreshes.", min=0.05, max=3600),
        Param("inventory_skew_bps", float, 5.0, "Quote shift at full inventory, in bps of mid.", min=0),
    )

    def __init__(self, ctx: StrategyContext) -> None:
        super().__init__(ctx)
        self.timer_seconds = float(self.p["refresh_interval"])
        self.quotes: dict[Side, Order | None] = {Side.BUY: None, Side.SELL: None}

    def on_start(self) -> None:
        for order in self.ctx.open_orders():  # resumed: adopt our quotes left from before
            self.quotes[order.side] = order
        self.refresh()

    def on_timer(self, now_ns: int) -> None:
        self.timer_seconds = float(self.p["refresh_interval"])
        self.refresh()

    def on_fill(self, fill: Fill, order: Order) -> None:
        self.refresh()

    def desired(self) -> dict[Side, tuple[int, int] | None]:
        """(price ticks, lots) wanted on each side, or None where we should not quote."""
        book = self.ctx.book
        mid_ticks = book.mid_ticks()
        if mid_ticks is None or book.is_crossed:
            return {Side.BUY: None, Side.SELL: None}
        inst = self.ctx.instrument
        mid = inst.price_float(mid_ticks)
        inventory = inst.size_float(self.ctx.position()) * mid
        max_inv = float(self.p["max_inventory"])
        skew = -float(self.p["inventory_skew_bps"]) * (inventory / max_inv if max_inv else 0.0)
        fair = mid * (1 + skew / 1e4)
        half = float(self.p["spread_bps"]) / 2e4
        bid = math.floor(fair * (1 - half) / float(inst.tick_size))
        ask = math.ceil(fair * (1 + half) / float(inst.tick_size))
        best_bid, best_ask = book.best_bid, book.best_ask
        if best_ask is not None and bid >= best_ask:  # stay passive
            bid = best_ask - 1
        if best_bid is not None and ask <= best_bid:
            ask = best_bid + 1
        lots = self.lots_for_notional(float(self.p["quote_size"]), mid)
        out: dict[Side, tuple[int, int] | None] = {Side.BUY: None, Side.SELL: None}
        if lots > 0:
            notional = inst.size_float(lots) * mid
            if inventory + notional <= max_inv:
                out[Side.BUY] = (bid, lots)
            if inventory - notional >= -max_inv:
                out[Side.SELL] = (ask, lots)
        return out

    def refresh(self) -> None:
        wanted = self.desired()
        for side in (Side.BUY, Side.SELL):
            current = self.quotes[side]
            if current is not None and not current.status.is_open:
                current = self.quotes[side] = None
            target = wanted[side]
            if target is None:
                if current is not None:
                    self.ctx.cancel(current.client_id)
                    self.quotes[side] = None
                continue
            price, lots = target
            if current is None:
                self.quotes[side] = self.ctx.limit(side, lots, price, post_only=True)
            elif current.price != price or current.remaining != lots:
                self.quotes[side] = self.ctx.replace(current.client_id, price=price, lots=lots)
