"""``desk run --headless``: the trading desk on a feed, with log lines instead of a screen.

Lines (JSON Lines with ``--json``): ``start``, ``strategy`` state changes, ``order`` events that matter
(rejections, cancels, expiries), ``fill`` (printed only once the fill is journaled: an acknowledged fill), a
``status`` line every 5 s, and a final ``summary`` on duration end, SIGINT or SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import threading
import time
from pathlib import Path
from typing import Any

from desk import locations
from desk.commands.event_format import iso_ns
from desk.commands.output import LineWriter
from desk.config import Settings
from desk.control import ControlServer
from desk.errors import UserError
from desk.execution.orders import Fill, Order, OrderEvent, OrderStatus
from desk.feeds.factory import build_feed
from desk.risk.monitor import RiskMonitor, compute_report
from desk.runtime.build import build_trading_desk, control_handler
from desk.strategies.base import StrategyState
from desk.strategies.runner import StrategyInstance
from desk.trading import TradingDesk


class _Printer:
    """Thread-safe line output: fills are acknowledged from the journal's writer thread."""

    def __init__(self, json_out: bool) -> None:
        self.json_out = json_out
        self.writer = LineWriter()
        self._lock = threading.Lock()

    def emit(self, event_type: str, text: str, /, **data: Any) -> None:
        line = json.dumps({"type": event_type, **data}, default=str) if self.json_out else f"{event_type:<8} {text}"
        with self._lock:
            self.writer.line(line)
            self.writer.flush()


def run_headless(
    settings: Settings,
    *,
    strategies: list[str],
    symbol: str,
    params: dict[str, str],
    duration: float | None,
    bar_seconds: int | None,
    journal_path: Path,
    json_out: bool,
    record: Path | None = None,
) -> int:
    symbols = list(dict.fromkeys([*settings.market.symbols, symbol]))
    feed = build_feed(settings, symbols)
    if symbol not in feed.instruments:
        raise UserError(f"unknown symbol {symbol!r}: expected one of {', '.join(feed.instruments)}")
    if len(strategies) > 1 and params:
        raise UserError("--param with several --strategy flags is ambiguous: expected one strategy per run")
    session = None
    if record is not None:  # a session for `desk backtest --parity`: the feed's batches + what to replay them with
        from desk.backtest.parity import SessionRecorder

        session = SessionRecorder(record, feed.venue, feed.instruments, settings)
    desk, monitor = build_trading_desk(settings, feed.instruments, feed.venue, journal_path)
    if session is not None:
        session.attach(desk, journal_path)
    out = _Printer(json_out)
    logging.getLogger("desk.alerts").propagate = False  # alerts are printed as lines of their own
    monitor.alerts.listeners.append(
        lambda alert: out.emit(
            "alert",
            f"{alert.severity} {alert.kind}: {alert.message}",
            kind=alert.kind,
            severity=alert.severity.value,
            message=alert.message,
        )
    )
    try:
        recovered = desk.recover()
        keys = []
        for name in strategies:
            instance = _add_or_reuse(desk, name, symbol, params, bar_seconds)
            keys.append(instance.key)
        _wire_output(desk, out)
        out.emit(
            "start",
            f"{', '.join(keys)} on {feed.venue}:{symbol}; journal {journal_path}; recovered {recovered}",
            strategies=keys,
            venue=feed.venue,
            symbol=symbol,
            journal=str(journal_path),
            recovered=recovered,
        )
        for key in keys:
            desk.start_strategy(key, source="cli")
        sink = session.wrap(desk.engine.on_events) if session is not None else desk.engine.on_events
        asyncio.run(_main(desk, monitor, feed, out, duration, settings.risk.var_interval_s, sink))
    finally:
        summary = desk.summary()
        desk.close()
        if session is not None:
            session.close()
    out.emit("summary", json.dumps(summary), **summary)
    return 0


def _add_or_reuse(
    desk: TradingDesk, name: str, symbol: str, params: dict[str, str], bar_seconds: int | None
) -> StrategyInstance:
    from desk.strategies.registry import load

    cls = load(name)
    key = f"{cls.name or name}:{symbol}"
    existing = desk.runner.instances.get(key)
    if existing is not None:  # recovered from the journal (paused): keep its state, apply new params
        if params:
            desk.set_strategy_params(key, dict(params), source="cli")
        return existing
    instance = desk.runner.add(name, symbol, params, bar_seconds=bar_seconds)
    desk.audit("cli", "strategy.add", key=instance.key, params=instance.params)
    return instance


def _wire_output(desk: TradingDesk, out: _Printer) -> None:
    def on_fill(order: Order, fill: Fill) -> None:
        inst = desk.instruments[fill.symbol]
        out.emit(
            "fill",
            f"{fill.strategy} {fill.side.value} {inst.size_str(fill.quantity)} {fill.symbol} "
            f"@ {inst.price_str(fill.price)} fee {fill.fee} ({fill.liquidity}) {fill.fill_id}",
            fill_id=fill.fill_id,
            order_id=fill.order_id,
            symbol=fill.symbol,
            side=fill.side.value,
            quantity=inst.size_str(fill.quantity),
            price=inst.price_str(fill.price),
            fee=str(fill.fee),
            liquidity=fill.liquidity,
            strategy=fill.strategy,
            ts=iso_ns(fill.ts_ns),
        )

    def on_order(order: Order, event: OrderEvent) -> None:
        if event.status in (OrderStatus.REJECTED, OrderStatus.EXPIRED) or (
            event.status is OrderStatus.CANCELLED and event.reason not in ("replaced",)
        ):
            out.emit(
                "order",
                f"{order.client_id} {event.status.value} {order.side.value} {order.symbol}: {event.reason}",
                order_id=order.client_id,
                status=event.status.value,
                reason=event.reason,
                strategy=order.strategy,
            )

    def on_state(inst: StrategyInstance, state: StrategyState, reason: str) -> None:
        out.emit("strategy", f"{inst.key} {state.value}: {reason}", key=inst.key, state=state.value, reason=reason)

    desk.fill_acks.append(on_fill)
    desk.broker.order_listeners.append(on_order)
    desk.runner.state_listeners.append(on_state)


async def _var_loop(monitor: RiskMonitor, interval: float) -> None:
    """The VaR worker: one computation at a time, in a thread, never on the event loop."""
    headline = (monitor.var_method, monitor.var_confidence)
    while True:
        await asyncio.sleep(interval)
        inputs = monitor.var_inputs()
        report = await asyncio.to_thread(compute_report, inputs, headline)
        monitor.apply_report(report)


async def _main(
    desk: TradingDesk,
    monitor: RiskMonitor,
    feed: Any,
    out: _Printer,
    duration: float | None,
    var_interval: float,
    sink: Any = None,
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    control = ControlServer(locations.control_socket(), control_handler(desk, monitor))
    await control.start()
    task = asyncio.create_task(feed.run(sink if sink is not None else desk.engine.on_events))
    var_task = asyncio.create_task(_var_loop(monitor, var_interval))
    started = time.monotonic()
    try:
        while not stop.is_set() and not task.done():
            timeout = 5.0 if duration is None else min(5.0, max(0.0, started + duration - time.monotonic()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=timeout)
            if duration is not None and time.monotonic() - started >= duration:
                break
            if not stop.is_set():
                s = desk.summary()
                s["breaker"] = monitor.breaker.state.value
                text = f"equity {s['equity']:.2f} fills {s['fills']} open {s['open_orders']} breaker {s['breaker']}"
                out.emit("status", text, **s)
    finally:
        var_task.cancel()
        await control.stop()
        feed.stop()
        desk.runner.stop_all("run ended")
        try:
            await asyncio.wait_for(task, timeout=5.0)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
