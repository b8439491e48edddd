"""Build a trading desk (with its risk monitor) from settings: the one recipe the TUI and headless use."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from desk.config import Settings
from desk.domain.instruments import Instrument
from desk.errors import UserError
from desk.execution.fees import FeeSchedule
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
        return {"ok": False, "error": f"unknown command {cmd!r}: expected halt, resume, liquidate or risk"}

    return handle
