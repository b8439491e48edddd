"""Runs strategy instances on engine events and isolates their failures.

One ``StrategyRunner`` per desk. Each instance has its own bar builder (its own timeframe), a context bound to
its symbol, and a state. Bars come from that builder (trades) or, in backtests on OHLCV, as ``Bar`` events, which
reach the instances whose timeframe matches. Any exception a strategy raises moves that instance to ERROR,
cancels its orders and is reported through ``on_state``; the desk and the other strategies carry on.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from desk.bars import BarBuilder
from desk.book.l2 import OrderBook
from desk.domain.events import Bar, BookDelta, BookSnapshot, Event, Side, Trade
from desk.domain.instruments import Instrument
from desk.errors import UserError
from desk.execution.gateway import OrderGateway
from desk.execution.orders import Fill, Order, OrderType, TimeInForce
from desk.portfolio import Portfolio
from desk.strategies.base import Strategy, StrategyState
from desk.strategies.params import ParamValue, resolve_params
from desk.strategies.registry import load

log = logging.getLogger("desk.strategies")

StateListener = Callable[["StrategyInstance", StrategyState, str], None]

# Bound once: enum member access costs ~0.13 us on Python 3.11 (see desk.execution.orders); these are read per
# event and per order.
_RUNNING = StrategyState.RUNNING
_PAUSED = StrategyState.PAUSED
_ERROR = StrategyState.ERROR
_MARKET = OrderType.MARKET
_LIMIT = OrderType.LIMIT


@dataclass(eq=False)
class StrategyInstance:
    key: str  # "name:SYMBOL", also the ``strategy`` field of its orders and fills
    name: str
    symbol: str
    params: dict[str, ParamValue]
    cls: type[Strategy]
    state: StrategyState = StrategyState.STOPPED
    error: str = ""
    strategy: Strategy | None = None
    bars: BarBuilder | None = None
    next_timer_ns: int = 0
    book_dirty: bool = False
    orders_placed: int = 0
    logs: list[str] = field(default_factory=list)


class _Context:
    """The live/paper implementation of ``StrategyContext`` for one instance."""

    def __init__(self, runner: StrategyRunner, inst: StrategyInstance) -> None:
        self._runner = runner
        self._inst = inst
        self._instrument = runner.books[inst.symbol].instrument

    @property
    def symbol(self) -> str:
        return self._inst.symbol

    @property
    def instrument(self) -> Instrument:
        return self._instrument

    @property
    def params(self) -> dict[str, ParamValue]:
        return self._inst.params

    @property
    def now_ns(self) -> int:
        return self._runner.clock()

    @property
    def book(self) -> OrderBook:
        return self._runner.books[self._inst.symbol]

    def position(self) -> int:
        return self._runner.portfolio.position(self._inst.symbol, self._inst.key).quantity

    def avg_entry_ticks(self) -> float | None:
        avg = self._runner.portfolio.position(self._inst.symbol, self._inst.key).avg_price_ticks
        return None if avg is None else float(avg)

    def account_value(self) -> Decimal:
        return self._runner.account_value()

    def open_orders(self) -> list[Order]:
        return [o for o in self._runner.gateway.broker.open_orders(self._inst.symbol) if o.strategy == self._inst.key]

    def _send(self, order: Order) -> Order | None:
        if self._inst.state is not _RUNNING:
            return None
        self._inst.orders_placed += 1
        return self._runner.gateway.submit(order)

    def market(self, side: Side, lots: int, tag: str = "") -> Order | None:
        broker = self._runner.gateway.broker
        order = Order(broker.next_id(), self._inst.symbol, side, _MARKET, lots, strategy=self._inst.key)
        return self._send(order)

    def limit(
        self, side: Side, lots: int, price: int, *, post_only: bool = False, ioc: bool = False, tag: str = ""
    ) -> Order | None:
        broker = self._runner.gateway.broker
        order = Order(
            broker.next_id(),
            self._inst.symbol,
            side,
            _LIMIT,
            lots,
            price,
            tif=TimeInForce.IOC if ioc else TimeInForce.GTC,
            post_only=post_only,
            strategy=self._inst.key,
        )
        return self._send(order)

    def cancel(self, client_id: str) -> bool:
        return self._runner.gateway.broker.cancel(client_id)

    def cancel_all(self) -> int:
        return self._runner.gateway.broker.cancel_all(self._inst.symbol, self._inst.key)

    def replace(self, client_id: str, *, price: int | None = None, lots: int | None = None) -> Order | None:
        if self._inst.state is not _RUNNING:
            return None
        return self._runner.gateway.broker.replace(client_id, price=price, quantity=lots)

    def log(self, message: str) -> None:
        self._inst.logs.append(message)
        del self._inst.logs[:-50]
        log.info("%s: %s", self._inst.key, message)


class StrategyRunner:
    def __init__(
        self,
        books: dict[str, OrderBook],
        gateway: OrderGateway,
        portfolio: Portfolio,
        clock: Callable[[], int],
        account_value: Callable[[], Decimal],
    ) -> None:
        self.books = books
        self.gateway = gateway
        self.portfolio = portfolio
        self.clock = clock
        self.account_value = account_value
        self.instances: dict[str, StrategyInstance] = {}
        self._by_symbol: dict[str, list[StrategyInstance]] = {}  # hot path: events reach only their symbol's
        self.state_listeners: list[StateListener] = []
        self.books_changed = False  # some instance has book_dirty set: on_batch_end has work
        self.version = 0  # bumped on any state change: the UI redraws the panel only then

    # --- lifecycle --------------------------------------------------------------------------------
    def add(
        self, name: str, symbol: str, params: Mapping[str, Any] | None = None, *, bar_seconds: int | None = None
    ) -> StrategyInstance:
        cls = load(name)
        if symbol not in self.books:
            raise UserError(f"unknown symbol {symbol!r}: expected one of {', '.join(self.books)}")
        resolved = resolve_params(cls.params, params or {}, cls.name or name)
        key = f"{cls.name or name}:{symbol}"
        if key in self.instances and self.instances[key].state in (StrategyState.RUNNING, StrategyState.PAUSED):
            raise UserError(f"strategy {key} is already {self.instances[key].state}")
        inst = StrategyInstance(key, cls.name or name, symbol, resolved, cls)
        inst.bars = BarBuilder(symbol, bar_seconds or cls.bar_seconds)
        old = self.instances.get(key)
        if old is not None:
            self._by_symbol[symbol].remove(old)
        self.instances[key] = inst
        self._by_symbol.setdefault(symbol, []).append(inst)
        self.version += 1
        return inst

    def start(self, key: str) -> None:
        inst = self._get(key)
        if inst.state is StrategyState.RUNNING:
            return
        if inst.state is StrategyState.PAUSED and inst.strategy is not None:
            self._set_state(inst, StrategyState.RUNNING, "resumed")
            return
        inst.error = ""
        inst.strategy = inst.cls(_Context(self, inst))
        inst.next_timer_ns = 0
        self._set_state(inst, StrategyState.RUNNING, "started")
        self._call(inst, inst.strategy.on_start)

    def pause(self, key: str) -> None:
        """No new orders while paused; resting orders are cancelled (a paused quoter must not stay quoted)."""
        inst = self._get(key)
        if inst.state is StrategyState.RUNNING:
            self._set_state(inst, StrategyState.PAUSED, "paused")
            self.gateway.broker.cancel_all(inst.symbol, inst.key, reason="strategy paused")

    def stop(self, key: str, reason: str = "stopped") -> None:
        inst = self._get(key)
        if inst.state in (StrategyState.RUNNING, StrategyState.PAUSED):
            if inst.strategy is not None:
                self._call(inst, inst.strategy.on_stop)
            if not _failed(inst):
                self._set_state(inst, StrategyState.STOPPED, reason)
            self.gateway.broker.cancel_all(inst.symbol, inst.key, reason=f"strategy {reason}")

    def stop_all(self, reason: str = "stopped") -> None:
        for key in list(self.instances):
            self.stop(key, reason)

    def set_params(self, key: str, values: Mapping[str, Any]) -> None:
        """Validate and apply new parameters; a running strategy sees them from its next callback."""
        inst = self._get(key)
        merged = {**inst.params, **values}
        inst.params.update(resolve_params(inst.cls.params, merged, inst.name))
        self.version += 1

    def _get(self, key: str) -> StrategyInstance:
        inst = self.instances.get(key)
        if inst is None:
            known = ", ".join(self.instances) or "none"
            raise UserError(f"unknown strategy instance {key!r}: expected one of {known}")
        return inst

    def _set_state(self, inst: StrategyInstance, state: StrategyState, reason: str) -> None:
        inst.state = state
        self.version += 1
        for listener in self.state_listeners:
            listener(inst, state, reason)

    def _call(self, inst: StrategyInstance, fn: Callable[..., None], *args: object) -> None:
        try:
            fn(*args)
        except Exception as exc:
            self._fail(inst, exc)

    def _fail(self, inst: StrategyInstance, exc: Exception) -> None:
        inst.error = f"{type(exc).__name__}: {exc}"
        log.error("strategy %s failed: %s\n%s", inst.key, inst.error, traceback.format_exc())
        self._set_state(inst, StrategyState.ERROR, inst.error)
        self.gateway.broker.cancel_all(inst.symbol, inst.key, reason="strategy error")

    # --- event routing ----------------------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        instances = self._by_symbol.get(event.symbol)
        if not instances:
            return
        kind = type(event)
        for inst in instances:
            state = inst.state
            if inst.strategy is None or (state is not _RUNNING and state is not _PAUSED):
                continue
            if kind is BookDelta or kind is BookSnapshot:
                inst.book_dirty = True
                self.books_changed = True
            elif isinstance(event, Bar):  # before Trade: a backtest on bars pays this test once per bar
                bars = inst.bars
                if bars is not None and bars.timeframe_s == event.timeframe_s:
                    try:  # _call inlined, for the same reason
                        inst.strategy.on_bar(event)
                    except Exception as exc:
                        self._fail(inst, exc)
            elif isinstance(event, Trade):
                self._call(inst, inst.strategy.on_trade, event)
                if inst.bars is not None and inst.strategy is not None:
                    closed = inst.bars.on_trade(event)
                    if closed is not None and not _failed(inst):
                        self._call(inst, inst.strategy.on_bar, closed)
            if inst.strategy.timer_seconds > 0.0:  # a float literal: the comparison specialises for floats
                self._timer(inst, self.clock())

    def on_batch_end(self) -> None:
        if not self.books_changed:  # the common case on bars and trades: no instance has a book change to see
            return
        pending = False  # a dirty instance that is not running keeps its flag (it sees the book once resumed)
        for inst in self.instances.values():
            if inst.book_dirty:
                if inst.strategy is not None and inst.state is _RUNNING:
                    inst.book_dirty = False
                    self._call(inst, inst.strategy.on_book, self.books[inst.symbol])
                else:
                    pending = True
        self.books_changed = pending

    def _timer(self, inst: StrategyInstance, ts_ns: int) -> None:
        period = inst.strategy.timer_seconds if inst.strategy is not None else 0.0
        if period <= 0 or inst.strategy is None or _failed(inst):
            return
        if inst.next_timer_ns == 0:
            inst.next_timer_ns = ts_ns + int(period * 1e9)
        elif ts_ns >= inst.next_timer_ns:
            inst.next_timer_ns = ts_ns + int(period * 1e9)
            self._call(inst, inst.strategy.on_timer, ts_ns)

    def on_fill(self, order: Order, fill: Fill) -> None:
        inst = self.instances.get(fill.strategy)
        if inst is not None and inst.strategy is not None and inst.state is not _ERROR:
            try:  # _call inlined: a backtest pays this once per fill
                inst.strategy.on_fill(fill, order)
            except Exception as exc:
                self._fail(inst, exc)


def _failed(inst: StrategyInstance) -> bool:
    """A callback may have moved the instance to ERROR mid-dispatch (a function keeps mypy from narrowing)."""
    return inst.state is _ERROR
