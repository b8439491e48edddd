"""``desk halt``, ``desk resume``, ``desk liquidate`` and ``desk risk``: talk to the running desk."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from desk.commands.options import ConfigOpt, JsonOpt, ProfileOpt, resolve_for_command

YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def register(app: typer.Typer) -> None:
    app.command("halt")(halt)
    app.command("resume")(resume)
    app.command("liquidate")(liquidate)
    app.command("risk")(risk)
    app.command("order")(order)
    app.command("cancel")(cancel)
    app.command("status")(status)
    strategy_app = typer.Typer(help="Control strategies in the running desk.", no_args_is_help=True)
    strategy_app.command("list")(strategy_list)
    strategy_app.command("add")(strategy_add)
    for action in ("start", "pause", "stop"):
        strategy_app.command(action)(_strategy_action(action))
    strategy_app.command("params")(strategy_params)
    app.add_typer(strategy_app, name="strategy")


def _send(cmd: str, **fields: Any) -> dict[str, Any]:
    from desk import locations
    from desk.control import send_command
    from desk.errors import RuntimeFailure, UserError

    response = send_command(locations.control_socket(), {"cmd": cmd, **fields})
    if not response.get("ok") and response.get("user_error"):
        raise UserError(f"the desk refused {cmd}: {response.get('error')}")  # a bad value: exit 2
    if not response.get("ok"):
        raise RuntimeFailure(f"the desk refused {cmd}: {response.get('error', 'no reason given')}")
    return response


def order(
    side: Annotated[str, typer.Argument(help="buy or sell")],
    symbol: Annotated[str, typer.Argument(help="Desk symbol, e.g. BTC-USD.")],
    quantity: Annotated[str, typer.Argument(help="Quantity in base units, on the lot grid.")],
    price: Annotated[str | None, typer.Option("--price", help="Limit price (omit for a market order).")] = None,
    yes: YesOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Send a manual order to the running desk (risk-checked like any other; asks first)."""
    from desk.errors import UserError

    if side not in ("buy", "sell"):
        raise UserError(f"side {side!r}: expected buy or sell")
    kind = "market" if price is None else f"limit {price}"
    if not yes and not typer.confirm(f"{side} {quantity} {symbol} {kind}?"):
        raise typer.Exit(1)
    r = _send("order", side=side, symbol=symbol, quantity=quantity, price=price)
    text = f"{r['order_id']} {r['side']} {r['symbol']}: {r['status']} filled {r['filled']}"
    _print(r, json_out, text + (f" ({r['reason']})" if r["reason"] else ""))


def cancel(order_id: Annotated[str, typer.Argument(help="Client order id.")], json_out: JsonOpt = False) -> None:
    """Cancel an open order in the running desk."""
    r = _send("cancel", order_id=order_id)
    _print(r, json_out, "cancelled" if r["cancelled"] else f"{order_id} is not open")


def status(json_out: JsonOpt = False) -> None:
    """Equity, P&L, positions and strategy states of the running desk."""
    r = _send("status")
    text = (
        f"equity {r['equity']:,.2f}  realized {r['realized_pnl']}  unrealized {r['unrealized_pnl']:,.2f}  "
        f"fees {r['fees']}  fills {r['fills']}  open orders {r['open_orders']}  breaker {r['breaker']}"
    )
    _print(r, json_out, text)


def _print_strategies(r: dict[str, Any], json_out: bool) -> None:
    lines = [f"{s['key']:<28} {s['state']:<8} {s['error']}" for s in r["strategies"]]
    _print(r, json_out, "\n".join(lines) or "no strategies")


def strategy_list(json_out: JsonOpt = False) -> None:
    """Strategy instances in the running desk."""
    _print_strategies(_send("strategy", action="list"), json_out)


def strategy_add(
    name: Annotated[str, typer.Argument(help="Strategy name or module:Class.")],
    symbol: Annotated[str, typer.Argument(help="Desk symbol.")],
    param: Annotated[list[str] | None, typer.Option("--param", help="NAME=VALUE.")] = None,
    start: Annotated[bool, typer.Option("--start", help="Start it at once.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Add a strategy to the running desk (validated there, like the TUI's editor)."""
    from desk.strategies.params import parse_assignments

    params = parse_assignments(param or [])
    _print_strategies(_send("strategy", action="add", name=name, symbol=symbol, params=params, start=start), json_out)


def _strategy_action(action: str) -> Any:
    def command(
        key: Annotated[str, typer.Argument(help="Instance key, e.g. mean_reversion:BTC-USD.")],
        json_out: JsonOpt = False,
    ) -> None:
        _print_strategies(_send("strategy", action=action, key=key), json_out)

    command.__doc__ = f"{action.capitalize()} a strategy in the running desk."
    return command


def strategy_params(
    key: Annotated[str, typer.Argument(help="Instance key.")],
    param: Annotated[list[str], typer.Option("--param", help="NAME=VALUE (repeatable).")],
    json_out: JsonOpt = False,
) -> None:
    """Change parameters of a strategy in the running desk (validated; bad values rejected with the reason)."""
    from desk.strategies.params import parse_assignments

    _print_strategies(_send("strategy", action="params", key=key, params=parse_assignments(param)), json_out)


def _print(response: dict[str, Any], json_out: bool, text: str) -> None:
    typer.echo(json.dumps(response) if json_out else text)


def halt(json_out: JsonOpt = False) -> None:
    """Kill switch: cancel all open orders and stop all strategies in the running desk, now."""
    r = _send("halt")
    _print(r, json_out, f"halted: {r['cancelled']} orders cancelled, {r['stopped']} strategies stopped")


def resume(yes: YesOpt = False, json_out: JsonOpt = False) -> None:
    """Reset the circuit breaker of the running desk to NORMAL (asks first)."""
    if not yes and not typer.confirm("Reset the circuit breaker to NORMAL and allow new orders?"):
        raise typer.Exit(1)
    r = _send("resume")
    _print(r, json_out, "breaker reset to normal" if r["changed"] else "breaker was already normal")


def liquidate(yes: YesOpt = False, json_out: JsonOpt = False) -> None:
    """Flatten every position of the running desk with market orders (asks first)."""
    if not yes and not typer.confirm("Flatten every position with market orders?"):
        raise typer.Exit(1)
    r = _send("liquidate")
    lines = [f"{o['order_id']} {o['side']} {o['symbol']}: {o['status']} {o['reason']}" for o in r["orders"]]
    _print(r, json_out, "\n".join(lines) or "no positions to flatten")


def risk(ctx: typer.Context, json_out: JsonOpt = False, config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
    """Limits with their utilisation and the breaker state: live from the running desk, else from config."""
    from desk import locations
    from desk.errors import RuntimeFailure

    try:
        report = _send("risk")
        report["source"] = "running desk"
    except RuntimeFailure:
        report = _offline_report(ctx, config, profile)
    if json_out:
        typer.echo(json.dumps(report, default=str))
        return
    _print_report(report, str(locations.control_socket()))


def _offline_report(ctx: typer.Context, config: Any, profile: Any) -> dict[str, Any]:
    """No desk running: the configured limits, and the last breaker state the journal recorded."""
    from desk.journal.store import JournalReader
    from desk.risk.limits import Limits

    settings = resolve_for_command(ctx, config, profile).settings
    limits = Limits.from_settings(settings.risk)
    breaker = {"state": "normal", "reason": ""}
    if settings.journal.path.exists():
        reader = JournalReader(settings.journal.path)
        rows = reader.rows("SELECT state, detail FROM risk_events WHERE kind = 'breaker' ORDER BY id DESC LIMIT 1")
        reader.close()
        if rows:
            breaker = {"state": rows[0]["state"], "reason": rows[0]["detail"]}
    entries = [
        *({"name": f"position {s}", "limit": float(q)} for s, q in limits.max_position_qty.items()),
        {"name": "position value", "limit": limits.max_position_notional},
        {"name": "gross exposure", "limit": limits.max_gross_exposure},
        {"name": "concentration", "limit": limits.max_concentration},
        *({"name": f"order size {s}", "limit": float(q)} for s, q in limits.max_order_qty.items()),
        {"name": "order value", "limit": limits.max_order_notional},
        {"name": "daily loss", "limit": limits.daily_loss_limit},
        {"name": "drawdown", "limit": limits.max_drawdown},
        {"name": "orders per minute", "limit": float(limits.max_orders_per_minute)},
        {"name": "consecutive losses", "limit": float(limits.max_consecutive_losses)},
        {"name": "strategy errors", "limit": float(limits.max_strategy_errors)},
        {"name": "VaR", "limit": limits.var_limit},
    ]
    return {
        "source": "configuration (no desk running)",
        "breaker": breaker,
        "limits": [{**e, "value": None, "utilisation": None, "detail": ""} for e in entries],
        "rejections": [],
        "stale": [],
        "var": [],
    }


def _print_report(report: dict[str, Any], socket_path: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    b = report["breaker"]
    console.print(f"breaker: [bold]{b['state'].upper()}[/] {b['reason']}   ({report['source']})")
    table = Table(show_edge=False)
    for col in ("limit", "value", "max", "used"):
        table.add_column(col, justify="left" if col == "limit" else "right")
    for e in report["limits"]:
        used = e.get("utilisation")
        style = "" if used is None else "red" if used >= 1 else "yellow" if used >= 0.8 else "green"
        table.add_row(
            e["name"],
            "-" if e["value"] is None else f"{e['value']:,.4g}",
            f"{e['limit']:,.4g}",
            "-" if used is None else f"[{style}]{used:6.1%}[/]",
        )
    console.print(table)
    for r in report.get("var", []):
        console.print(f"{r['method']:>10} VaR {r['confidence']:.1%}: {r['var']:,.2f}  ES {r['es']:,.2f}")
    for line in report.get("rejections", []):
        console.print(f"rejected: {line}")
