"""The trading half of the desk app: its panels, keys, the VaR worker, the control server and alerts.

``DeskApp`` (desk/ui/app.py) is the market screen; it derives from ``TradingActions`` so the trading keys and
panels live here rather than growing the app into a god object. The desk's state is in plain services
(``TradingDesk``, ``RiskMonitor``, through ``TradingSession``); this class only turns keys into their calls and
hands the panels what to show on the app's one UI tick.

- Strategies: add (pick a strategy and symbol), start, pause, stop, edit parameters (a form built from the
  ``Param`` declarations) on the row under the strategies table's cursor.
- Orders: manual entry with a confirmation step; cancel the row under the orders table's cursor.
- Risk: the kill switch (no confirmation: cancels every order and stops every strategy at once), breaker reset
  and liquidate-all (both confirm first).
- The VaR worker runs every ``risk.var_interval_s`` in a thread (``run_worker(thread=True, exclusive=True)``);
  the screen never waits for it: the worker posts ``RiskReportComputed`` and the risk panel redraws when the
  report is applied.
- The control server (``desk halt``, ``desk risk``, ``desk strategy ...`` from another terminal) runs in the
  app's event loop, so those requests act on this desk between two feed batches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import App
from textual.binding import Binding
from textual.widget import Widget
from textual.worker import Worker, WorkerState, get_current_worker

from desk.domain.events import Side
from desk.errors import RuntimeFailure, UserError
from desk.execution.orders import Order, OrderStatus
from desk.risk.alerts import Alert, Severity
from desk.risk.monitor import RiskReport, VarInputs
from desk.ui.messages import RiskReportComputed
from desk.ui.screens.add_strategy import AddStrategyScreen
from desk.ui.screens.confirm import ConfirmScreen
from desk.ui.screens.order_entry import OrderEntryScreen, OrderTicket
from desk.ui.screens.params import ParamsScreen
from desk.ui.session import MIN_VAR_RETURNS, SOURCE, TradingSession
from desk.ui.trading_model import STATUS_SHORT
from desk.ui.widgets.equity import EquityChart
from desk.ui.widgets.layout import Column, Row
from desk.ui.widgets.orders import OrdersTable
from desk.ui.widgets.positions import PositionsPanel
from desk.ui.widgets.risk import RiskPanel
from desk.ui.widgets.strategies import StrategiesTable
from desk.ui.widgets.tables import PanelTitle, SyncedTable

TRADING_BINDINGS: list[Binding] = [
    Binding("a", "add_strategy", "Add strategy"),
    Binding("g", "start_strategy", "Start"),
    Binding("p", "pause_strategy", "Pause", show=False),
    Binding("x", "stop_strategy", "Stop", show=False),
    Binding("e", "edit_params", "Params"),
    Binding("o", "order", "Order"),
    Binding("d", "cancel_order", "Cancel order"),
    Binding("delete", "cancel_order", "Cancel order", show=False),
    Binding("f", "focus_panel", "Strategies/orders focus", show=False),
    Binding("K", "kill", "Kill switch"),
    # Priority: the kill switch works from any screen, even with a form open.
    Binding("ctrl+k", "kill", "Kill switch", show=False, priority=True),
    Binding("R", "reset_breaker", "Reset breaker (confirms)", show=False),
    Binding("L", "liquidate", "Liquidate all (confirms)", show=False),
]

_SEVERITY = {Severity.INFO: "information", Severity.WARNING: "warning", Severity.CRITICAL: "error"}


class TradingActions(App[None]):
    session: TradingSession
    control_socket: Path | None
    startup_error: str
    var_interval_s: float
    var_horizon: str
    symbols: list[str]  # the symbols the desk shows (set by the app)
    TRADING_SYMBOL_ACTIONS: ClassVar[frozenset[str]] = frozenset({"next_symbol", "previous_symbol"})

    @property
    def symbol(self) -> str:
        """The symbol on screen (the app overrides this with its selection)."""
        return self.symbols[0]

    def init_trading(
        self,
        session: TradingSession,
        *,
        control_socket: Path | None,
        var_interval_s: float,
        var_horizon: str,
        recovered: dict[str, int] | None = None,
    ) -> None:
        """Called from the app's ``__init__``."""
        self.session = session
        self.control_socket = control_socket
        self.var_interval_s = var_interval_s
        self.var_horizon = var_horizon
        self.startup_error = ""
        self.recovered = recovered
        self.var_runs = 0  # reports applied (tests wait on this)
        self._var_worker: Worker[None] | None = None
        self._control_path: Path | None = None  # set once our control server listens
        # The bell goes through Textual (a raw BEL on stderr could land inside a frame being written).
        self._alert_bell = session.monitor.alerts.bell
        session.monitor.alerts.bell = False

    # --- layout --------------------------------------------------------------------------------------
    def compose_trading(self) -> Iterator[Widget]:
        """The trading row: strategies, orders, positions and equity on the left, risk on the right."""
        with Row(id="trading-row"):
            with Column(id="trading-left"):
                yield PanelTitle(" strategies", classes="panel-title")
                yield StrategiesTable(id="strategies")
                yield PanelTitle(" orders", classes="panel-title")
                yield OrdersTable(id="orders")
                yield PositionsPanel(id="positions")
                yield EquityChart(id="equity")
            yield RiskPanel(horizon=self.var_horizon, interval_s=self.var_interval_s, id="risk")

    def start_trading(self) -> None:
        """Called from the app's ``on_mount``: hold the panels, wire alerts, start the control server and VaR."""
        self._strategies = self.query_one(StrategiesTable)
        self._orders = self.query_one(OrdersTable)
        self._positions = self.query_one(PositionsPanel)
        self._equity = self.query_one(EquityChart)
        self._risk = self.query_one(RiskPanel)
        self.session.monitor.alerts.listeners.append(self._on_alert)
        if self.control_socket is not None:
            self.run_worker(self._serve_control(self.control_socket), name="control", group="control")
        self.set_interval(self.var_interval_s, self.run_var, name="var-tick")
        if self.recovered and any(self.recovered.values()):
            r = self.recovered
            self.notify(
                f"recovered from the journal: {r['fills']} fills, {r['open_orders']} open orders, "
                f"{r['strategies']} strategies (paused)",
                timeout=10,
                markup=False,
            )

    def stop_trading(self) -> None:
        """Called from the app's ``on_unmount``: stop the strategies (as the end of ``desk run --headless`` does:
        the journal then says they stopped, so the next start does not bring them back), flush the journal."""
        listeners = self.session.monitor.alerts.listeners
        if self._on_alert in listeners:
            listeners.remove(self._on_alert)
        desk = self.session.desk
        desk.runner.stop_all("desk closed")
        desk.close()
        # The server's own shutdown runs when its worker is cancelled, which the app does not wait for at exit:
        # remove our socket here too, so `desk halt` does not find a dead desk's socket.
        if self._control_path is not None:
            self._control_path.unlink(missing_ok=True)
            self._control_path = None

    def update_trading(self) -> None:
        """The trading part of the UI tick; each panel decides whether anything changed."""
        session = self.session
        self._strategies.show(session)
        self._orders.show(session)
        self._positions.show(session)
        self._equity.show(session.desk.portfolio)
        self._risk.show(session)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # tab / shift+tab switch symbols on the desk (priority bindings), but inside a form they move the focus.
        return not (action in self.TRADING_SYMBOL_ACTIONS and len(self.screen_stack) > 1)

    # --- control server and alerts -------------------------------------------------------------------
    async def _serve_control(self, path: Path) -> None:
        from desk.control import ControlServer
        from desk.runtime.build import control_handler

        server = ControlServer(path, control_handler(self.session.desk, self.session.monitor))
        try:
            await server.start()
        except (RuntimeFailure, OSError) as exc:  # another desk won the race for the socket: do not run blind
            self.startup_error = str(exc)
            self.exit(return_code=1)
            return
        self._control_path = path
        try:
            await asyncio.Event().wait()  # serve until the app cancels this worker
        finally:
            await server.stop()

    def _on_alert(self, alert: Alert) -> None:
        severity = _SEVERITY.get(alert.severity, "warning")
        timeout = 10 if alert.severity is Severity.CRITICAL else 5
        self.notify(
            alert.message,
            title=alert.kind,
            severity=severity,  # type: ignore[arg-type]
            timeout=timeout,
            markup=False,
        )
        if self._alert_bell and alert.severity is not Severity.INFO:
            self.bell()

    # --- VaR worker ----------------------------------------------------------------------------------
    def run_var(self) -> Worker[None] | None:
        """Start a VaR run unless one is still going. Inputs are taken here, on the loop, as a consistent
        snapshot; the computation runs in a thread."""
        running = self._var_worker
        if running is not None and running.state in (WorkerState.PENDING, WorkerState.RUNNING):
            return None
        if self.session.var_returns() < MIN_VAR_RETURNS:  # the panel counts the returns until there are enough
            return None
        inputs = self.session.var_inputs()
        self._var_worker = self.run_worker(
            partial(self._compute_var, inputs, self.session.headline),
            name="var",
            group="var",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )
        return self._var_worker

    def _compute_var(self, inputs: VarInputs, headline: tuple[str, float]) -> None:
        report = TradingSession.compute(inputs, headline)
        if not get_current_worker().is_cancelled:
            self.post_message(RiskReportComputed(report))

    @on(RiskReportComputed)
    def _report_arrived(self, message: RiskReportComputed) -> None:
        self.apply_report(message.report)

    def apply_report(self, report: RiskReport) -> None:
        self.session.monitor.apply_report(report)
        self.var_runs += 1
        self._risk.show(self.session)  # the monitor's version moved: redraws now, not on the next tick

    # --- strategies ----------------------------------------------------------------------------------
    def _selected_strategy(self) -> str | None:
        key = self._strategies.selected_key()
        if key is None:
            self.notify("no strategy selected: a adds one", severity="warning", markup=False)
            self.bell()
        return key

    def _strategy_call(self, verb: str) -> None:
        key = self._selected_strategy()
        if key is None:
            return
        desk = self.session.desk
        try:
            getattr(desk, f"{verb}_strategy")(key, source=SOURCE)
        except UserError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        inst = desk.runner.instances[key]
        self.notify(f"{key} {inst.state.value}" + (f": {inst.error}" if inst.error else ""), markup=False)
        self.update_trading()

    def action_start_strategy(self) -> None:
        self._strategy_call("start")

    def action_pause_strategy(self) -> None:
        self._strategy_call("pause")

    def action_stop_strategy(self) -> None:
        self._strategy_call("stop")

    def action_add_strategy(self) -> None:
        from desk.strategies.registry import load

        names = self.session.strategy_names()
        docs: dict[str, str] = {}
        for name in names:
            try:
                docs[name] = load(name).doc
            except UserError as exc:  # a broken plugin: listed with its reason, adding it fails the same way
                docs[name] = str(exc)

        def add(name: str, symbol: str) -> str:
            return self.session.add_strategy(name, symbol).key

        def added(key: str | None) -> None:
            if key is None:
                return
            self.update_trading()
            keys = [k for k, _ in self._strategies.rows_shown]
            if key in keys:
                self._strategies.move_cursor(row=keys.index(key))
            self.notify(f"{key} added (stopped): g starts it, e edits its parameters", markup=False)

        self.push_screen(AddStrategyScreen(names, docs, self.symbols, self.symbol, add), added)

    def action_edit_params(self) -> None:
        key = self._selected_strategy()
        if key is None:
            return
        inst = self.session.desk.runner.instances[key]

        def apply(values: dict[str, Any]) -> None:
            self.session.desk.set_strategy_params(key, values, source=SOURCE)

        def done(applied: bool | None) -> None:
            if applied:
                self.notify(f"{key} parameters applied", markup=False)
                self.update_trading()

        self.push_screen(ParamsScreen(key, inst.name, inst.cls.params, inst.params, apply), done)

    # --- orders --------------------------------------------------------------------------------------
    def action_order(self) -> None:
        book = self.session.desk.engine.books[self.symbol]
        self.push_screen(OrderEntryScreen(book.instrument, Side.BUY, book.best_bid), self._order_entered)

    def _order_entered(self, ticket: OrderTicket | None) -> None:
        if ticket is not None:
            self.submit_order(ticket)

    def submit_order(self, ticket: OrderTicket) -> Order | None:
        """Send a confirmed ticket through the desk (risk checks included) and say what became of it."""
        desk = self.session.desk
        try:
            order = desk.manual_order(ticket.symbol, ticket.side, ticket.quantity, ticket.price, source=SOURCE)
        except UserError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return None
        inst = desk.instruments[order.symbol]
        status = STATUS_SHORT[order.status]
        if order.status is OrderStatus.REJECTED:
            self.notify(f"{ticket.describe()} rejected: {order.reason}", severity="error", timeout=8, markup=False)
        else:
            filled = f", filled {inst.size_str(order.filled)}" if order.filled else ""
            self.notify(f"{ticket.describe()}: {status}{filled}", markup=False)
        self.update_trading()
        return order

    def action_cancel_order(self) -> None:
        key = self._orders.selected_key()
        if key is None:
            self.notify("no order selected", severity="warning", markup=False)
            self.bell()
            return
        order = self.session.desk.broker.orders.get(key)
        if order is None or not order.status.is_open:
            state = "unknown" if order is None else order.status.value
            self.notify(f"order {key} is {state}: nothing to cancel", severity="warning", markup=False)
            return
        if self.session.desk.cancel_order(key, source=SOURCE):
            self.notify(f"order {key} cancelled", markup=False)
        self.update_trading()

    def action_focus_panel(self) -> None:
        tables: list[SyncedTable] = [self._strategies, self._orders]
        focused = self.focused
        index = tables.index(focused) if isinstance(focused, SyncedTable) and focused in tables else -1
        tables[(index + 1) % len(tables)].focus()

    # --- risk ----------------------------------------------------------------------------------------
    def action_kill(self) -> None:
        """No confirmation, by design: every open order cancelled, every strategy stopped, breaker HALTED."""
        result = self.session.monitor.kill(SOURCE)
        self.notify(
            f"KILL SWITCH: {result['cancelled']} orders cancelled, {result['stopped']} strategies stopped, "
            "breaker HALTED (R resets it)",
            severity="error",
            timeout=15,
            markup=False,
        )
        self.update_trading()

    def action_reset_breaker(self) -> None:
        breaker = self.session.monitor.breaker
        detail = f"now {breaker.state.value.upper()}" + (f": {breaker.reason}" if breaker.reason else "")

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            changed = self.session.monitor.resume(SOURCE)
            self.notify("breaker reset to NORMAL" if changed else "breaker was already NORMAL", markup=False)
            self.update_trading()

        self.push_screen(ConfirmScreen("Reset the circuit breaker to NORMAL?", detail), answered)

    def action_liquidate(self) -> None:
        desk = self.session.desk
        open_positions = [
            f"{sym} {desk.instruments[sym].size_str(pos.quantity)}"
            for sym, pos in sorted(desk.portfolio.positions.items())
            if pos.quantity
        ]
        detail = ", ".join(open_positions) if open_positions else "no open positions (open orders are cancelled)"

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            orders = self.session.monitor.liquidate(SOURCE)
            done = sum(1 for o in orders if o.status is OrderStatus.FILLED)
            self.notify(
                f"liquidation: {len(orders)} market orders, {done} filled",
                severity="warning" if done < len(orders) else "information",
                markup=False,
            )
            self.update_trading()

        self.push_screen(ConfirmScreen("Liquidate all positions with market orders?", detail), answered)
