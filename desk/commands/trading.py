"""Headless trading: ``desk run``, ``desk strategies``, ``desk orders|fills|positions``, ``desk journal export``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from desk.commands.options import ConfigOpt, JsonOpt, ProfileOpt, resolve_for_command
from desk.errors import UserError

if TYPE_CHECKING:
    from desk.config import Settings

JournalOpt = Annotated[
    Path | None, typer.Option("--journal", help="Journal database (default: journal.path from settings).")
]


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("strategies")(strategies)
    app.command("orders")(orders)
    app.command("fills")(fills)
    app.command("positions")(positions)
    journal_app = typer.Typer(help="Journal maintenance.", no_args_is_help=True)
    journal_app.command("export")(journal_export)
    app.add_typer(journal_app, name="journal")


def _settings(
    ctx: typer.Context, config: Path | None, profile: str | None, overrides: dict[str, object] | None = None
) -> Settings:
    return resolve_for_command(ctx, config, profile, overrides).settings


def _journal_path(settings: Settings, journal: Path | None) -> Path:
    return journal if journal is not None else settings.journal.path


# --- desk run ------------------------------------------------------------------------------------------------
def run(
    ctx: typer.Context,
    strategy: Annotated[list[str], typer.Option("--strategy", help="Strategy name or module:Class (repeatable).")],
    symbol: Annotated[str, typer.Option("--symbol", help="Desk symbol to trade, e.g. BTC-USD.")],
    param: Annotated[list[str] | None, typer.Option("--param", help="Strategy parameter NAME=VALUE.")] = None,
    headless: Annotated[bool, typer.Option("--headless", help="No TUI: log lines on stdout.")] = False,
    duration: Annotated[float | None, typer.Option("--duration", help="Stop after S wall-clock seconds.")] = None,
    bar_seconds: Annotated[int | None, typer.Option("--bar-seconds", help="Bar timeframe for on_bar.")] = None,
    speed: Annotated[float | None, typer.Option("--speed", help="Simulated seconds per second (sim).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the simulated market.")] = None,
    journal: JournalOpt = None,
    record: Annotated[
        Path | None,
        typer.Option("--record", help="Record the session to DIR for `desk backtest --parity DIR` (journal in DIR)."),
    ] = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Run strategies on the live (or simulated) market through the paper broker, journaling everything."""
    from desk.runtime.headless import run_headless
    from desk.strategies.params import parse_assignments

    if duration is not None and duration <= 0:
        raise UserError(f"--duration {duration}: expected a number of seconds > 0")
    if bar_seconds is not None and bar_seconds <= 0:
        raise UserError(f"--bar-seconds {bar_seconds}: expected an integer > 0")
    settings = _settings(ctx, config, profile, {"sim.speed": speed, "sim.seed": seed})
    params = parse_assignments(param or [])
    if not headless:
        for flag, given in (("--json", json_out), ("--duration", duration is not None), ("--record", record)):
            if given:
                raise UserError(f"{flag} needs --headless: the TUI runs until you quit it")
        from desk.commands.tui import launch_tui

        launch_tui(
            config,
            profile,
            settings=settings,
            strategies=strategy,
            symbol=symbol,
            params=params,
            bar_seconds=bar_seconds,
            journal=journal,
        )
        return
    code = run_headless(
        settings,
        strategies=strategy,
        symbol=symbol,
        params=params,
        duration=duration,
        bar_seconds=bar_seconds,
        journal_path=record / "journal.db"
        if record is not None and journal is None
        else _journal_path(settings, journal),
        json_out=json_out,
        record=record,
    )
    raise typer.Exit(code)


# --- desk strategies -----------------------------------------------------------------------------------------
def strategies(json_out: JsonOpt = False) -> None:
    """List the strategies desk can run, with their parameters."""
    from desk.strategies.registry import available, load

    rows: list[dict[str, Any]] = []
    for name in sorted(available()):
        cls = load(name)
        rows.append({"name": name, "doc": cls.doc, "params": [p.as_json() for p in cls.params]})
    if json_out:
        typer.echo(json.dumps(rows))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for row in rows:
        table = Table(title=f"{row['name']}: {row['doc']}", title_justify="left", show_edge=False)
        for column in ("param", "type", "default", "bounds", "doc"):
            table.add_column(column)
        for p in row["params"]:
            lo = "" if p["min"] is None else f"{p['min']:g}"
            hi = "" if p["max"] is None else f"{p['max']:g}"
            table.add_row(p["name"], p["type"], str(p["default"]), f"[{lo}, {hi}]", p["doc"])
        console.print(table)
        console.print()


# --- journal queries -----------------------------------------------------------------------------------------
def _reader(ctx: typer.Context, journal: Path | None, config: Path | None, profile: str | None) -> Any:
    from desk.journal.store import JournalReader

    path = _journal_path(_settings(ctx, config, profile), journal)
    if not path.exists():
        raise UserError(f"journal {str(path)!r} does not exist: expected a desk journal (run `desk run` first)")
    return JournalReader(path)


def _print_rows(rows: list[dict[str, Any]], columns: list[str], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, justify="right" if column in ("price", "quantity", "fee") else "left")
    for row in rows:
        table.add_row(*[str(row.get(c, "")) for c in columns])
    Console().print(table)


def orders(
    ctx: typer.Context,
    open_only: Annotated[bool, typer.Option("--open", help="Only open orders.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", help="Only the last N.")] = None,
    journal: JournalOpt = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Orders from the journal."""
    reader = _reader(ctx, journal, config, profile)
    rows = [_order_row(r) for r in reader.orders(open_only=open_only, limit=limit)]
    reader.close()
    if json_out:
        typer.echo(json.dumps(rows))
    else:
        cols = ["order_id", "symbol", "side", "type", "quantity", "price", "status", "filled", "strategy", "reason"]
        _print_rows(rows, cols, f"orders ({len(rows)})")


def _order_row(r: dict[str, Any]) -> dict[str, Any]:
    from desk.commands.event_format import iso_ns

    return {
        "order_id": r["client_id"],
        "symbol": r["symbol"],
        "side": r["side"],
        "type": r["type"],
        "tif": r["tif"],
        "post_only": bool(r["post_only"]),
        "quantity": r["quantity"],
        "price": r["price"],
        "status": r["status"],
        "filled": r["filled_lots"],
        "strategy": r["strategy"],
        "reason": r["reason"],
        "ts": iso_ns(r["created_ns"]),
    }


def fills(
    ctx: typer.Context,
    symbol: Annotated[str | None, typer.Option("--symbol", help="Only this symbol.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Only the last N.")] = None,
    journal: JournalOpt = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Fills from the journal."""
    from desk.commands.event_format import iso_ns

    reader = _reader(ctx, journal, config, profile)
    rows = [
        {
            "fill_id": r["fill_id"],
            "order_id": r["order_id"],
            "symbol": r["symbol"],
            "side": r["side"],
            "quantity": r["quantity"],
            "price": r["price"],
            "fee": r["fee"],
            "liquidity": r["liquidity"],
            "strategy": r["strategy"],
            "ts": iso_ns(r["ts_ns"]),
        }
        for r in reader.fills(symbol=symbol, limit=limit)
    ]
    reader.close()
    if json_out:
        typer.echo(json.dumps(rows))
    else:
        cols = ["ts", "symbol", "side", "quantity", "price", "fee", "liquidity", "strategy", "order_id"]
        _print_rows(rows, cols, f"fills ({len(rows)})")


def positions(
    ctx: typer.Context,
    journal: JournalOpt = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Positions rebuilt from the journal's fills, marked at the simulated market's mid when it has the symbol."""
    from desk.journal.positions import positions_from_fills

    reader = _reader(ctx, journal, config, profile)
    rows = positions_from_fills(reader.fills())
    reader.close()
    if json_out:
        typer.echo(json.dumps(rows))
    else:
        cols = ["symbol", "quantity", "avg_price", "realized_pnl", "unrealized_pnl", "fees", "mark"]
        _print_rows(rows, cols, "positions")


def journal_export(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    out: Annotated[Path, typer.Option("--out", help="Directory to write one file per table.")] = Path("."),
    journal: JournalOpt = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Export every journal table with polars."""
    if fmt not in ("parquet", "csv"):
        raise UserError(f"--format {fmt!r}: expected parquet or csv")
    from desk.journal.export import export_tables

    reader = _reader(ctx, journal, config, profile)
    try:
        written = export_tables(reader, out, fmt)
    finally:
        reader.close()
    if json_out:
        typer.echo(json.dumps([str(p) for p in written]))
    else:
        for path in written:
            typer.echo(str(path))
