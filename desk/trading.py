"""The trading desk: the Engine plus broker, portfolio, strategies and journal, wired in one fixed order.

    feed -> Engine.on_events -> book/tape/bars -> broker (queue position, resting fills) -> strategies
         -> (orders) gateway: pre-trade checks -> broker -> fills -> portfolio -> journal -> strategy.on_fill

The TUI, ``desk run --headless`` and the backtester all build a ``TradingDesk``; only the feed and the clock
differ. Every user action (TUI or CLI) goes through a method here so it is audited in the journal.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from desk.domain.events import Side
from desk.domain.instruments import Instrument
from desk.engine import Engine
from desk.errors import UserError
from desk.execution.fees import FeeSchedule
from desk.execution.fills import FillEngine
from desk.execution.gateway import OrderGateway
from desk.execution.orders import Fill, Order, OrderEvent, OrderType
from desk.execution.paper import PaperBroker
from desk.journal.store import Journal, JournalReader
from desk.portfolio import Portfolio
from desk.strategies.base import StrategyState
from desk.strategies.runner import StrategyInstance, StrategyRunner

log = logging.getLogger("desk.trading")

NS = 1_000_000_000
FillAck = Callable[[Order, Fill], None]


class TradingDesk:
    def __init__(
        self,
        instruments: dict[str, Instrument],
        *,
        venue: str = "sim",
        account_value: Decimal = Decimal(10_000),
        fees: FeeSchedule | None = None,
        journal_path: Path | None = None,
        equity_sample_s: float = 1.0,
        id_prefix: str | None = None,
        slippage_bps: Decimal = Decimal(0),
    ) -> None:
        self.engine = Engine(instruments, venue)
        self.instruments = instruments
        self.portfolio = Portfolio(instruments, account_value)
        fill_ids = _Counter(id_prefix)
        self.fill_engine = FillEngine(fees or FeeSchedule(), fill_ids.next, slippage_bps=slippage_bps)
        self.broker = PaperBroker(self.engine.books, self.fill_engine, self.clock, id_prefix=id_prefix)
        self.gateway = OrderGateway(self.broker)
        self.runner = StrategyRunner(
            self.engine.books, self.gateway, self.portfolio, self.clock, self.current_account_value
        )
        self.journal = Journal(journal_path) if journal_path is not None else None
        self.fill_acks: list[FillAck] = []  # called once a fill is durable (journaled), or at once without journal
        self.order_log: deque[tuple[Order, OrderEvent]] = deque(maxlen=500)  # recent order events for the UI
        self.fills_seen = 0
        self._equity_every_ns = int(equity_sample_s * NS)
        self._next_equity_ns = 0

        # Order matters: the broker sees a trade (and may fill resting orders) before strategies react to it.
        self.engine.add_listener(self.broker.on_event)
        self.engine.add_listener(self.runner.on_event)
        self.engine.add_batch_listener(self._end_batch)
        self.broker.fill_listeners.append(self._on_fill)
        self.broker.order_listeners.append(self._on_order)
        self.runner.state_listeners.append(self._on_strategy_state)

    # --- time and valuation ------------------------------------------------------------------------
    def clock(self) -> int:
        return self.engine.now_ns

    def mids(self) -> dict[str, float | None]:
        marks = self.engine.bar_marks
        if not marks:
            return {sym: book.mid() for sym, book in self.engine.books.items()}
        # Symbols driven by bars (backtests) have no book: they are marked at the last close.
        return {
            sym: book.mid() if book.live or sym not in marks else book.instrument.price_float(marks[sym])
            for sym, book in self.engine.books.items()
        }

    def current_account_value(self) -> Decimal:
        return Decimal(repr(self.portfolio.equity(self.mids())))

    # --- recovery ----------------------------------------------------------------------------------
    def recover(self) -> dict[str, int]:
        """Rebuild positions, P&L, open orders and strategy instances from the journal."""
        if self.journal is None or not self.journal.path.exists():
            return {"fills": 0, "open_orders": 0, "strategies": 0}
        reader = JournalReader(self.journal.path)
        try:
            state = reader.recover(self.instruments)
        finally:
            reader.close()
        for fill in state.fills:
            self.portfolio.apply_fill(fill)
        for order in state.open_orders:
            self.broker.restore(order)
        restored = 0
        for row in state.strategies:
            if row["symbol"] not in self.instruments or row["state"] in ("stopped", "error"):
                continue
            try:
                inst = self.runner.add(row["name"], row["symbol"], row["params"])
            except UserError as exc:
                log.warning("could not restore strategy %s: %s", row["key"], exc)
                continue
            # A strategy that was running comes back PAUSED: after a crash a human decides when it trades again.
            self.runner.start(inst.key)
            self.runner.pause(inst.key)
            restored += 1
        self.portfolio.equity_curve.extend(state.equity)  # bounded deque: keeps the most recent points
        self.fills_seen = len(state.fills)
        return {"fills": len(state.fills), "open_orders": len(state.open_orders), "strategies": restored}

    # --- user actions (audited) --------------------------------------------------------------------
    def audit(self, source: str, action: str, **detail: Any) -> None:
        if self.journal is not None:
            self.journal.record_audit(source, action, detail, self.clock())

    def add_strategy(
        self, name: str, symbol: str, params: dict[str, Any] | None = None, *, source: str = "cli"
    ) -> StrategyInstance:
        inst = self.runner.add(name, symbol, params)
        self.audit(source, "strategy.add", key=inst.key, params=inst.params)
        return inst

    def start_strategy(self, key: str, source: str = "cli") -> None:
        self.audit(source, "strategy.start", key=key)
        self.runner.start(key)

    def pause_strategy(self, key: str, source: str = "cli") -> None:
        self.audit(source, "strategy.pause", key=key)
        self.runner.pause(key)

    def stop_strategy(self, key: str, source: str = "cli") -> None:
        self.audit(source, "strategy.stop", key=key)
        self.runner.stop(key)

    def set_strategy_params(self, key: str, values: dict[str, Any], source: str = "cli") -> None:
        self.runner.set_params(key, values)
        self.audit(source, "strategy.params", key=key, params=values)
        inst = self.runner.instances[key]
        self._on_strategy_state(inst, inst.state, "parameters changed")

    def manual_order(
        self,
        symbol: str,
        side: Side,
        quantity: Decimal | str,
        price: Decimal | str | None = None,
        *,
        source: str = "tui",
    ) -> Order:
        """A hand-entered order, in decimal units; validated onto the grid, then through the gateway."""
        inst = self.instruments.get(symbol)
        if inst is None:
            raise UserError(f"unknown symbol {symbol!r}: expected one of {', '.join(self.instruments)}")
        try:
            lots = inst.size_to_lots(quantity)
            ticks = None if price is None else inst.price_to_ticks(price)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        order = Order(
            self.broker.next_id(),
            symbol,
            side,
            OrderType.MARKET if ticks is None else OrderType.LIMIT,
            lots,
            ticks,
            strategy="manual",
        )
        self.audit(source, "order.manual", symbol=symbol, side=side.value, quantity=str(quantity), price=str(price))
        return self.gateway.submit(order)

    def cancel_order(self, client_id: str, source: str = "tui") -> bool:
        self.audit(source, "order.cancel", order_id=client_id)
        return self.broker.cancel(client_id, "cancelled by user")

    # --- listeners ---------------------------------------------------------------------------------
    def _on_fill(self, order: Order, fill: Fill) -> None:
        self.portfolio.apply_fill(fill)
        self.runner.on_fill(order, fill)
        self.fills_seen += 1
        if self.journal is not None:
            inst = self.instruments[fill.symbol]
            self.journal.record_fill(fill, inst, on_commit=partial(self._ack, order, fill) if self.fill_acks else None)
        elif self.fill_acks:
            self._ack(order, fill)

    def _ack(self, order: Order, fill: Fill) -> None:
        for ack in self.fill_acks:
            ack(order, fill)

    def _on_order(self, order: Order, event: OrderEvent) -> None:
        self.order_log.append((order, event))
        if self.journal is not None:
            self.journal.record_order(order, event, self.instruments[order.symbol])

    def _on_strategy_state(self, inst: StrategyInstance, state: StrategyState, reason: str) -> None:
        if self.journal is not None:
            self.journal.record_strategy(
                inst.key, inst.name, inst.symbol, inst.params, state.value, reason, self.clock()
            )

    def _end_batch(self) -> None:
        """After each engine batch: strategies see their book changes (once per batch), then equity is sampled.

        One listener for both, each called only when it has work: a backtest pays this once per bar."""
        if self.runner.books_changed:
            self.runner.on_batch_end()
        if self.engine.now_ns >= self._next_equity_ns:
            self._sample_equity()

    def _sample_equity(self) -> None:
        now = self.engine.now_ns
        if now < self._next_equity_ns:
            return
        self._next_equity_ns = now + self._equity_every_ns
        equity = self.portfolio.sample(now, self.mids())
        if self.journal is not None and self.fills_seen:
            self.journal.record_equity(now, equity)

    # --- shutdown ----------------------------------------------------------------------------------
    def open_orders(self) -> list[Order]:
        return self.broker.open_orders()

    def close(self) -> None:
        if self.journal is not None:
            self.journal.flush()
            self.journal.close()

    def summary(self) -> dict[str, Any]:
        mids = self.mids()
        return {
            "equity": round(self.portfolio.equity(mids), 8),
            "realized_pnl": f"{self.portfolio.realized():f}",
            "unrealized_pnl": round(self.portfolio.unrealized(mids), 8),
            "fees": f"{self.portfolio.fees():f}",
            "fills": self.fills_seen,
            "open_orders": len(self.broker.open_orders()),
            "max_drawdown": round(self.portfolio.max_drawdown, 6),
            "positions": {
                sym: self.instruments[sym].size_str(pos.quantity)
                for sym, pos in self.portfolio.positions.items()
                if pos.quantity
            },
            "strategies": {key: inst.state.value for key, inst in self.runner.instances.items()},
        }


class _Counter:
    def __init__(self, prefix: str | None) -> None:
        import itertools
        import time

        self._prefix = prefix if prefix is not None else f"{time.time_ns() // 1_000_000:x}"
        self._n = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}-f{next(self._n)}"
