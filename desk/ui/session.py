"""The trading side of the TUI as plain Python: the desk, its risk monitor and the counters the panels compare.

Widgets only render (ARCHITECTURE.md); this class owns what the trading panels need from the desk so it can be
tested without a terminal: a version that moves on every order event (the orders table, the ladder's own-order
marks), the resting size we have at each price, adding a strategy the way ``desk run`` does (re-using one that
came back paused from the journal), and the VaR job split into its loop part (inputs) and its thread part.
It never imports Textual.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desk.domain.events import Side
from desk.errors import RuntimeFailure
from desk.execution.orders import Order, OrderEvent
from desk.risk.monitor import RiskMonitor, RiskReport, VarInputs, compute_report
from desk.strategies.base import StrategyState
from desk.strategies.runner import StrategyInstance
from desk.trading import TradingDesk

MIN_VAR_RETURNS = 20
"""``compute_report`` answers only an error below this many returns: the worker does not start a thread for it."""

SOURCE = "tui"
"""How user actions taken on the screen are tagged in the journal's audit log."""


@dataclass(frozen=True, slots=True)
class OwnLevels:
    """Our resting size (lots still open) per price (ticks), per side, for one symbol."""

    bids: Mapping[int, int]
    asks: Mapping[int, int]


NO_OWN = OwnLevels({}, {})


class TradingSession:
    def __init__(self, desk: TradingDesk, monitor: RiskMonitor) -> None:
        self.desk = desk
        self.monitor = monitor
        self.orders_version = 0  # bumped on every order event (new, fill, cancel ...): tables compare it
        self._own: dict[str, tuple[int, OwnLevels]] = {}
        desk.broker.order_listeners.append(self._on_order)

    def _on_order(self, order: Order, event: OrderEvent) -> None:
        self.orders_version += 1

    # --- what the panels read -----------------------------------------------------------------------
    def own_levels(self, symbol: str) -> OwnLevels:
        """Resting size per price; recomputed only after an order event (the ladder asks every tick)."""
        cached = self._own.get(symbol)
        if cached is not None and cached[0] == self.orders_version:
            return cached[1]
        bids: dict[int, int] = {}
        asks: dict[int, int] = {}
        for order in self.desk.broker.open_orders(symbol):
            if order.price is None or order.remaining <= 0:
                continue
            side = bids if order.side is Side.BUY else asks
            side[order.price] = side.get(order.price, 0) + order.remaining
        levels = OwnLevels(bids, asks) if bids or asks else NO_OWN
        self._own[symbol] = (self.orders_version, levels)
        return levels

    def recent_orders(self, limit: int) -> list[Order]:
        """Open orders (newest first), then the most recent finished ones, ``limit`` in all."""
        broker = self.desk.broker
        open_ids = {o.client_id for o in broker.open_orders()}
        # The broker's order map is in submission order (recovered orders first): newest first, ties included.
        rows = [o for o in reversed(broker.orders.values()) if o.client_id in open_ids][:limit]
        seen = set(open_ids)
        for order, _ in reversed(self.desk.order_log):
            if len(rows) >= limit:
                break
            if order.client_id not in seen:
                seen.add(order.client_id)
                rows.append(order)
        return rows

    # --- strategies ---------------------------------------------------------------------------------
    def add_strategy(
        self,
        name: str,
        symbol: str,
        params: Mapping[str, Any] | None = None,
        *,
        bar_seconds: int | None = None,
        source: str = SOURCE,
    ) -> StrategyInstance:
        """Add ``name`` on ``symbol`` (audited). One that came back from the journal PAUSED is kept (its state
        and orders are the desk's memory) and only given the new parameters, as ``desk run`` does."""
        from desk.strategies.registry import load

        cls = load(name)
        key = f"{cls.name or name}:{symbol}"
        existing = self.desk.runner.instances.get(key)
        if existing is not None and existing.state is StrategyState.PAUSED:
            if params:
                self.desk.set_strategy_params(key, dict(params), source=source)
            return existing
        if bar_seconds is None:
            return self.desk.add_strategy(name, symbol, dict(params or {}), source=source)
        inst = self.desk.runner.add(name, symbol, params, bar_seconds=bar_seconds)
        self.desk.audit(source, "strategy.add", key=inst.key, params=inst.params, bar_seconds=bar_seconds)
        return inst

    @staticmethod
    def strategy_names() -> list[str]:
        from desk.strategies.registry import available

        return sorted(available())

    # --- VaR: inputs on the event loop, the computation in a worker thread --------------------------------
    @property
    def headline(self) -> tuple[str, float]:
        return self.monitor.var_method, self.monitor.var_confidence

    def var_returns(self) -> int:
        """Returns the VaR worker would get now (one less than the mids sampled so far)."""
        return max(0, len(self.monitor.mid_history) - 1)

    def var_inputs(self) -> VarInputs:
        return self.monitor.var_inputs()

    @staticmethod
    def compute(inputs: VarInputs, headline: tuple[str, float]) -> RiskReport:
        """Pure; runs in the worker thread."""
        return compute_report(inputs, headline)


def another_desk_answers(path: Path) -> bool:
    """Whether a running desk answers on the control socket ``path`` (a leftover socket file does not count)."""
    from desk.control import send_command

    if not path.exists():
        return False
    try:
        send_command(path, {"cmd": "status"}, timeout=2.0)
    except RuntimeFailure:
        return False
    return True
