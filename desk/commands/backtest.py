"""``desk backtest``, ``desk sweep``, ``desk data download`` and ``desk data sim``.

Human output (tables, charts, progress bars) goes through rich; progress bars go to stderr so ``--json`` stdout
stays one clean document. Heavy imports (numpy, polars, httpx, dask) happen inside the command bodies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from desk.commands.options import ConfigOpt, JsonOpt, ProfileOpt, RestUrlOpt, resolve_for_command
from desk.errors import UserError

if TYPE_CHECKING:
    from decimal import Decimal

    from desk.backtest.data import OHLCV
    from desk.config import Settings

DataOpt = Annotated[Path | None, typer.Option("--data", help="OHLCV bars: CSV or parquet.")]
SymbolOpt = Annotated[
    str | None, typer.Option("--symbol", help="Desk symbol of --data (BTC-USD), or venue symbol with --download.")
]
ParamOpt = Annotated[list[str] | None, typer.Option("--param", help="Strategy parameter NAME=VALUE (repeatable).")]
FeesOpt = Annotated[
    float | None, typer.Option("--fees-bps", help="Fee in bps, maker and taker (default: trading settings).")
]
MakerOpt = Annotated[float | None, typer.Option("--maker-fees-bps", help="Maker fee in bps if it differs.")]
SlipOpt = Annotated[float, typer.Option("--slippage-bps", help="Bar fills: next open moved this much against us.")]
AccountOpt = Annotated[
    float | None, typer.Option("--account-value", help="Starting equity (default: trading.account_value).")
]
ModeOpt = Annotated[str, typer.Option("--mode", help="event (the live desk), vectorised, or auto.")]
ResampleOpt = Annotated[str | None, typer.Option("--resample", help="Aggregate the bars first, e.g. 5m, 1h.")]
TickOpt = Annotated[str | None, typer.Option("--tick-size", help="Price grid of --data (default: metadata/inferred).")]
LotOpt = Annotated[str | None, typer.Option("--lot-size", help="Size grid of --data (default: metadata or 1e-8).")]
DownloadOpt = Annotated[bool, typer.Option("--download", help="Fetch the bars first (with --venue/--symbol/...).")]
VenueDlOpt = Annotated[str, typer.Option("--venue", help="Venue to download from (binance).")]
IntervalOpt = Annotated[str, typer.Option("--interval", help="Kline interval: 1m, 5m, 1h, 1d...")]
StartOpt = Annotated[str | None, typer.Option("--start", help="Start (UTC date/time or epoch ms).")]
EndOpt = Annotated[str | None, typer.Option("--end", help="End, exclusive (UTC date/time or epoch ms).")]
CacheOpt = Annotated[Path | None, typer.Option("--cache-dir", help="Where downloads are cached (default: desk cache).")]


def register(app: typer.Typer) -> None:
    app.command("backtest")(backtest)
    app.command("sweep")(sweep)
    data_app = typer.Typer(help="Historical market data for backtests.", no_args_is_help=True)
    data_app.command("download")(data_download)
    data_app.command("sim")(data_sim)
    app.add_typer(data_app, name="data")


def _settings(ctx: typer.Context, config: Path | None, profile: str | None) -> Settings:
    return resolve_for_command(ctx, config, profile).settings


def _dec(text: str | None, what: str) -> Decimal | None:
    if text is None:
        return None
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(text)
    except InvalidOperation:
        raise UserError(f"{what} {text!r}: expected a positive number such as 0.01") from None
    if not value.is_finite() or value <= 0:
        raise UserError(f"{what} {text!r}: expected a positive number such as 0.01")
    return value


def _progress_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


class _Bar:
    """A rich progress bar on stderr driven by ``(done, total)`` callbacks."""

    def __init__(self, label: str, enabled: bool = True) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=_progress_console(),
            transient=True,
            disable=not enabled,
        )
        self.task = self.progress.add_task(label, total=None)

    def __enter__(self) -> _Bar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, done: int, total: int) -> None:
        self.progress.update(self.task, completed=done, total=total)


def _load_data(
    ctx: typer.Context,
    settings: Settings,
    *,
    data: Path | None,
    download: bool,
    symbol: str | None,
    venue: str,
    interval: str,
    start: str | None,
    end: str | None,
    rest_url: str | None,
    cache_dir: Path | None,
    tick_size: str | None,
    lot_size: str | None,
    resample: str | None,
    quiet: bool,
) -> OHLCV:
    from desk.backtest.data import load_ohlcv

    if (data is None) == (not download):
        raise UserError("expected exactly one of --data FILE or --download (with --venue/--symbol/--start/--end)")
    path = data
    sym = symbol
    if download:
        if not symbol or not start or not end:
            raise UserError("--download needs --symbol, --start and --end")
        path = _download(settings, venue, symbol, interval, start, end, rest_url, cache_dir, quiet)
        sym = None  # the file's metadata carries the desk symbol
    assert path is not None
    return load_ohlcv(
        path,
        symbol=sym,
        tick_size=_dec(tick_size, "--tick-size"),
        lot_size=_dec(lot_size, "--lot-size"),
        resample=resample,
    )


def _download(
    settings: Settings,
    venue: str,
    symbol: str,
    interval: str,
    start: str,
    end: str,
    rest_url: str | None,
    cache_dir: Path | None,
    quiet: bool,
) -> Path:
    from desk import locations
    from desk.backtest.download import Downloader, make_request, parse_time

    req = make_request(venue, symbol, interval, parse_time(start, "--start"), parse_time(end, "--end"))
    url = rest_url or (settings.venues.get(venue).rest_url if venue in ("binance",) else "")
    downloader = Downloader(url)
    try:
        with _Bar(f"{req.venue_symbol} {req.interval}", enabled=not quiet) as bar:
            return downloader.download(req, cache_dir or locations.cache_dir(), bar)
    finally:
        downloader.close()


# --- desk backtest --------------------------------------------------------------------------------------------
def backtest(
    ctx: typer.Context,
    strategy: Annotated[str | None, typer.Option("--strategy", help="Strategy name or module:Class.")] = None,
    data: DataOpt = None,
    download: DownloadOpt = False,
    symbol: SymbolOpt = None,
    param: ParamOpt = None,
    fees_bps: FeesOpt = None,
    maker_fees_bps: MakerOpt = None,
    slippage_bps: SlipOpt = 0.0,
    account_value: AccountOpt = None,
    mode: ModeOpt = "event",
    resample: ResampleOpt = None,
    tick_size: TickOpt = None,
    lot_size: LotOpt = None,
    venue: VenueDlOpt = "binance",
    interval: IntervalOpt = "1m",
    start: StartOpt = None,
    end: EndOpt = None,
    rest_url: RestUrlOpt = None,
    cache_dir: CacheOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write trades, fills and equity to this directory.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="Export format for --out: csv, parquet or both.")] = "csv",
    mc_sims: Annotated[int, typer.Option("--mc-sims", help="Monte Carlo resamples of the trades (0: off).")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the Monte Carlo resampling.")] = 0,
    parity: Annotated[
        Path | None, typer.Option("--parity", help="Replay a recorded paper session and diff its fills.")
    ] = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Backtest a strategy on historical bars with the live desk (or its vectorised fast path)."""
    settings = _settings(ctx, config, profile)
    if parity is not None:
        from desk.backtest.parity import print_report, run_parity

        report = run_parity(parity, settings)
        if json_out:
            typer.echo(json.dumps(report.to_json()))
        else:
            print_report(report)
        return  # exit 0 whenever the comparison ran: "parity" in the report says whether every fill matched
    if strategy is None:
        raise UserError("--strategy NAME is required (or --parity SESSION)")
    if fmt not in ("csv", "parquet", "both"):
        raise UserError(f"--format {fmt!r}: expected csv, parquet or both")
    if mc_sims < 0:
        raise UserError(f"--mc-sims {mc_sims}: expected 0 or more")
    if slippage_bps < 0:
        raise UserError(f"--slippage-bps {slippage_bps}: expected a number >= 0")
    from desk.backtest.engine import MODES, run_backtest
    from desk.strategies.params import parse_assignments

    if mode not in MODES:
        raise UserError(f"--mode {mode!r}: expected one of {', '.join(MODES)}")
    params = parse_assignments(param or [])
    trading = settings.trading
    if data is not None and not download:
        from desk.backtest.ticks import is_recording

        if is_recording(data):  # a `desk record` session: tick-level, fills walk the recorded book
            result = _recording_backtest(
                strategy, data, symbol, params, settings, fees_bps, maker_fees_bps, account_value, mc_sims, seed
            )
            _show(result, out, fmt, json_out, gaps="")
            return
    bars = _load_data(
        ctx,
        settings,
        data=data,
        download=download,
        symbol=symbol,
        venue=venue,
        interval=interval,
        start=start,
        end=end,
        rest_url=rest_url,
        cache_dir=cache_dir,
        tick_size=tick_size,
        lot_size=lot_size,
        resample=resample,
        quiet=json_out,
    )
    taker, maker = _fee_bps(settings, fees_bps, maker_fees_bps)
    with _Bar(f"{strategy} {bars.symbol}", enabled=not json_out) as bar:
        result = run_backtest(
            strategy,
            bars,
            params,
            account_value=account_value if account_value is not None else trading.account_value,
            fees_bps=taker,
            maker_fees_bps=maker,
            slippage_bps=slippage_bps,
            mode=mode,
            monte_carlo=mc_sims,
            seed=seed,
            progress=bar,
        )
    _show(result, out, fmt, json_out, gaps=bars.describe_gaps() if bars.gaps else "")


def _fee_bps(settings: Any, fees_bps: float | None, maker_fees_bps: float | None) -> tuple[float, float]:
    """(taker, maker) bps: the flags, where given (--fees-bps alone sets both), else the trading settings."""
    trading = settings.trading
    taker = fees_bps if fees_bps is not None else trading.taker_fee_bps
    maker = (
        maker_fees_bps if maker_fees_bps is not None else fees_bps if fees_bps is not None else trading.maker_fee_bps
    )
    return taker, maker


def _show(result: Any, out: Path | None, fmt: str, json_out: bool, gaps: str) -> None:
    written = result.export(out, fmt) if out is not None else []
    if json_out:
        doc = result.to_json()
        if written:
            doc["files"] = [str(p) for p in written]
        typer.echo(json.dumps(doc))
        return
    from rich.console import Console

    from desk.backtest.report import render

    console = Console()
    width = max(40, min(120, console.width - 16))
    for item in render(result, width):
        console.print(item)
    if gaps:
        console.print(f"data: {gaps}", style="yellow")
    for path in written:
        console.print(f"wrote {path}")


def _recording_backtest(
    strategy: str,
    directory: Path,
    symbol: str | None,
    params: dict[str, str],
    settings: Any,
    fees_bps: float | None,
    maker_fees_bps: float | None,
    account_value: float | None,
    mc_sims: int,
    seed: int,
) -> Any:
    from decimal import Decimal

    from desk.backtest.ticks import run_recording_backtest
    from desk.execution.fees import FeeSchedule
    from desk.feeds.replay import open_recording

    trading = settings.trading
    taker, maker = _fee_bps(settings, fees_bps, maker_fees_bps)
    if symbol is None:
        symbols = list(open_recording(directory).instruments)
        if len(symbols) != 1:
            raise UserError(f"recording {str(directory)!r} has {', '.join(symbols)}: expected --symbol to pick one")
        symbol = symbols[0]
    return run_recording_backtest(
        strategy,
        directory,
        symbol,
        params,
        account_value=account_value if account_value is not None else trading.account_value,
        fees=FeeSchedule(Decimal(repr(maker)), Decimal(repr(taker))),
        monte_carlo=mc_sims,
        seed=seed,
    )


# --- desk sweep -------------------------------------------------------------------------------------------------
def sweep(
    ctx: typer.Context,
    strategy: Annotated[str, typer.Option("--strategy", help="Strategy name or module:Class.")],
    grid: Annotated[list[str], typer.Option("--grid", help="NAME=LO:HI:STEP or NAME=V1,V2 (repeatable).")],
    data: DataOpt = None,
    download: DownloadOpt = False,
    symbol: SymbolOpt = None,
    param: ParamOpt = None,
    metric: Annotated[
        str, typer.Option("--metric", help="Rank by this metric (sharpe, total_return, ...).")
    ] = "sharpe",
    top: Annotated[int, typer.Option("--top", help="Rows shown in the table.")] = 20,
    workers: Annotated[int | None, typer.Option("--workers", help="Local processes (default: all cores).")] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Run on an existing Dask cluster, e.g. tcp://HOST:8786.")
    ] = None,
    fees_bps: FeesOpt = None,
    maker_fees_bps: MakerOpt = None,
    slippage_bps: SlipOpt = 0.0,
    account_value: AccountOpt = None,
    mode: Annotated[
        str, typer.Option("--mode", help="auto (vectorised when available), event or vectorised.")
    ] = "auto",
    resample: ResampleOpt = None,
    tick_size: TickOpt = None,
    lot_size: LotOpt = None,
    venue: VenueDlOpt = "binance",
    interval: IntervalOpt = "1m",
    start: StartOpt = None,
    end: EndOpt = None,
    rest_url: RestUrlOpt = None,
    cache_dir: CacheOpt = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Run a strategy over a parameter grid on all cores (or a Dask cluster) and rank the results."""
    from desk.backtest.engine import MODES
    from desk.backtest.sweep import SweepConfig, parse_axis, run_sweep
    from desk.strategies.params import parse_assignments
    from desk.strategies.registry import load

    if mode not in MODES:
        raise UserError(f"--mode {mode!r}: expected one of {', '.join(MODES)}")
    if workers is not None and workers < 1:
        raise UserError(f"--workers {workers}: expected 1 or more")
    if top < 1:
        raise UserError(f"--top {top}: expected 1 or more")
    if scheduler is not None and "://" not in scheduler:
        raise UserError(f"--scheduler {scheduler!r}: expected an address like tcp://HOST:8786")
    if slippage_bps < 0:
        raise UserError(f"--slippage-bps {slippage_bps}: expected a number >= 0")
    cls = load(strategy)
    axes = [parse_axis(spec, cls.params, cls.name or strategy) for spec in grid]
    settings = _settings(ctx, config, profile)
    bars = _load_data(
        ctx,
        settings,
        data=data,
        download=download,
        symbol=symbol,
        venue=venue,
        interval=interval,
        start=start,
        end=end,
        rest_url=rest_url,
        cache_dir=cache_dir,
        tick_size=tick_size,
        lot_size=lot_size,
        resample=resample,
        quiet=json_out,
    )
    trading = settings.trading
    fees, maker = _fee_bps(settings, fees_bps, maker_fees_bps)
    cfg = SweepConfig(
        strategy,
        account_value if account_value is not None else trading.account_value,
        repr(float(fees)),
        repr(float(maker)),
        repr(float(slippage_bps)),
        mode,
    )
    with _Bar(f"sweep {cls.name or strategy}", enabled=not json_out) as bar:
        result = run_sweep(
            cfg,
            bars,
            axes,
            parse_assignments(param or []),
            metric=metric,
            workers=workers,
            scheduler=scheduler,
            progress=bar,
        )
    if json_out:
        typer.echo(json.dumps(result.to_json()))
        return
    from rich.console import Console
    from rich.table import Table

    from desk.backtest.report import fmt as fmt_value

    console = Console()
    names = [a.name for a in axes]
    table = Table(
        title=f"{cls.name or strategy} on {bars.symbol}: {len(result.rows)} runs ranked by {metric} ({result.mode})",
        title_justify="left",
    )
    table.add_column("#", justify="right")
    for name in names:
        table.add_column(name, justify="right")
    shown = list(dict.fromkeys([metric, "total_return", "sharpe", "max_drawdown", "trades"]))
    kinds = {"total_return": "pct", "max_drawdown": "pct0", "trades": "int", "cagr": "pct", "win_rate": "pct0"}
    for key in shown:
        table.add_column(key, justify="right", style="bold" if key == metric else "")
    for rank, row in enumerate(result.rows[:top], 1):
        metrics = row.metrics or {}
        table.add_row(
            str(rank),
            *(str(row.params[n]) for n in names),
            *(fmt_value(metrics.get(k), kinds.get(k, "num")) for k in shown),
        )
    console.print(table)
    if result.skipped:
        first = result.skipped[0]
        console.print(f"skipped {len(result.skipped)} combinations the strategy rejects, e.g. {first.error}")


# --- desk data ---------------------------------------------------------------------------------------------------
def data_download(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Option("--symbol", help="Venue symbol, e.g. BTCUSDT (or BTC-USDT).")],
    start: Annotated[str, typer.Option("--start", help="Start (UTC date/time or epoch ms).")],
    end: Annotated[str, typer.Option("--end", help="End, exclusive (UTC date/time or epoch ms).")],
    venue: VenueDlOpt = "binance",
    interval: IntervalOpt = "1m",
    rest_url: RestUrlOpt = None,
    cache_dir: CacheOpt = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Download klines (paginated, resumable) and cache them as parquet; prints the file's path."""
    settings = _settings(ctx, config, profile)
    path = _download(settings, venue, symbol, interval, start, end, rest_url, cache_dir, json_out)
    if json_out:
        typer.echo(json.dumps({"path": str(path)}))
    else:
        typer.echo(str(path))


def data_sim(
    symbol: Annotated[
        str, typer.Option("--symbol", help="A simulated symbol: BTC-USD, ETH-USD or SOL-USD.")
    ] = "BTC-USD",
    bars: Annotated[int, typer.Option("--bars", help="Number of bars.")] = 5000,
    out: Annotated[Path, typer.Option("--out", help="Output file (.parquet or .csv).")] = Path("sim.parquet"),
    timeframe: Annotated[str, typer.Option("--timeframe", help="Bar length, e.g. 1m, 5m.")] = "1m",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulated market.")] = 7,
    json_out: JsonOpt = False,
) -> None:
    """Write OHLCV bars of the simulated market's fair price (high/low from the finer path) for demos and tests."""
    from desk.backtest.data import parse_timeframe, simulated, write_ohlcv

    if out.suffix.lower() not in (".parquet", ".csv"):
        raise UserError(f"--out {str(out)!r}: expected a .parquet or .csv file name")
    if bars < 2 or bars > 50_000_000:
        raise UserError(f"--bars {bars}: expected 2 to 50000000")
    if seed < 0:
        raise UserError(f"--seed {seed}: expected 0 or more")
    data = simulated(symbol, bars, seed=seed, timeframe_s=parse_timeframe(timeframe, "--timeframe"))
    path = write_ohlcv(data, out, {"venue": "sim", "seed": seed})
    if json_out:
        typer.echo(json.dumps({"path": str(path), "bars": len(data), "symbol": data.symbol}))
    else:
        typer.echo(str(path))
