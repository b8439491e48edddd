"""Build a trading desk (with its risk monitor) from settings: the one recipe the TUI and headless use."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from desk.config import Settings
from desk.domain.events import Side
from desk.domain.instruments import Instrument
from desk.errors import UserError
from desk.execution.fees import FeeSchedule
from desk.execution.orders import Order
from desk.risk.alerts import AlertBus
from desk.risk.limits import Limits
from desk.risk.monitor import RiskMonitor
from desk.trading import TradingDesk


def build_trading_desk(
    settings: Settings, instruments: dict[str, Instrument], venue: str, journal_path: Path | None
) -> tuple[TradingDesk, RiskMonitor]:
    from desk.risk.returns import parse_horizon

    trading = settings.trading
    if trading.live_enabled:
        raise UserError(
            "trading.live_enabled = true: live order routing is not available in this build; expected false "
            "(orders go to the paper broker)"
        )
    desk = TradingDesk(
        instruments,
        venue=venue,
        account_value=Decimal(repr(trading.account_value)),
        fees=FeeSchedule(Decimal(repr(trading.maker_fee_bps)), Decimal(repr(trading.taker_fee_bps))),
        journal_path=journal_path,
    )
    risk = settings.risk
    horizon = parse_horizon(risk.var_horizon)
    monitor = RiskMonitor(
        desk,
        Limits.from_settings(risk),
        alerts=AlertBus(bell=risk.alert_bell, command=risk.alert_command),
        var_confidence=risk.var_confidence,
        var_horizon_s=horizon.seconds if horizon.seconds is not None else float(horizon.periods or 1.0),
        var_method=risk.var_method,
        var_paths=risk.var_paths,
    )
    return desk, monitor


def control_handler(desk: TradingDesk, monitor: RiskMonitor) -> Any:
    """Requests from ``desk halt|resume|liquidate|risk`` (see desk.control), answered on the event loop."""

    def handle(request: dict[str, Any]) -> dict[str, Any]:
        cmd = request.get("cmd")
        source = "cli"
        if cmd == "halt":
            return {"ok": True, "action": "halt", **monitor.kill(source)}
        if cmd == "resume":
            return {"ok": True, "action": "resume", "changed": monitor.resume(source)}
        if cmd == "liquidate":
            orders = monitor.liquidate(source)
            return {
                "ok": True,
                "action": "liquidate",
                "orders": [
                    {
                        "order_id": o.client_id,
                        "symbol": o.symbol,
                        "side": o.side.value,
                        "status": o.status.value,
                        "reason": o.reason,
                    }
                    for o in orders
                ],
            }
        if cmd == "risk":
            return {"ok": True, "action": "risk", **monitor.summary()}
        if cmd == "order":
            side = Side(str(request.get("side")))
            price = request.get("price")
            order = desk.manual_order(
                str(request.get("symbol")),
                side,
                str(request.get("quantity")),
                None if price is None else str(price),
                source=source,
            )
            return {"ok": True, "action": "order", **_order_json(desk, order)}
        if cmd == "cancel":
            return {
                "ok": True,
                "action": "cancel",
                "cancelled": desk.cancel_order(str(request.get("order_id")), source),
            }
        if cmd == "strategy":
            return _strategy_command(desk, request, source)
        if cmd == "status":
            return {"ok": True, "action": "status", **desk.summary(), "breaker": monitor.breaker.state.value}
        known = "halt, resume, liquidate, risk, order, cancel, strategy or status"
        return {"ok": False, "error": f"unknown command {cmd!r}: expected {known}"}

    return handle


def _order_json(desk: TradingDesk, order: Order) -> dict[str, Any]:
    inst = desk.instruments[order.symbol]
    avg = order.avg_price_ticks
    return {
        "order_id": order.client_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "status": order.status.value,
        "filled": inst.size_str(order.filled),
        "avg_price": None if avg is None else f"{inst.price_float(avg):.{inst.price_decimals + 4}f}",
        "reason": order.reason,
    }


def _strategy_command(desk: TradingDesk, request: dict[str, Any], source: str) -> dict[str, Any]:
    """add / start / pause / stop / params / list, the same actions the strategies panel offers."""
    action = str(request.get("action", "list"))
    if action == "add":
        inst = desk.add_strategy(
            str(request.get("name")), str(request.get("symbol")), dict(request.get("params") or {}), source=source
        )
        if request.get("start"):
            desk.start_strategy(inst.key, source)
        key = inst.key
    elif action in ("start", "pause", "stop"):
        key = str(request.get("key"))
        getattr(desk, f"{action}_strategy")(key, source)
    elif action == "params":
        key = str(request.get("key"))
        desk.set_strategy_params(key, dict(request.get("params") or {}), source)
    elif action != "list":
        return {"ok": False, "error": f"unknown strategy action {action!r}: expected add, start, pause, stop, params"}
    rows = [
        {"key": k, "state": i.state.value, "params": i.params, "error": i.error}
        for k, i in desk.runner.instances.items()
    ]
    return {"ok": True, "action": f"strategy {action}", "strategies": rows}
