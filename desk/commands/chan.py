"""`desk chan`: Chan-theory structure (fractals, pens, segments, MACD divergence) of a bar file or a simulated symbol.

``--data FILE`` reads CSV or parquet OHLCV with polars (columns ts or timestamp, open, high, low, close, optional
volume); with ``--timeframe`` its bars are first resampled to that length (epoch-aligned, like
``desk.backtest.data.resample_ohlcv``). ``--symbol SYM`` builds OHLC bars from the simulated market's fair-price
path, sampled 60 times a bar (4 times for second bars) so highs and lows are real extremes of the path. Rules:
docs/chan.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from desk.commands.options import JsonOpt
from desk.errors import UserError

if TYPE_CHECKING:
    from desk.chan import BarArrays, ChanConfig, ChanResult
    from desk.chan.model import Fractal

PriceFormat = Callable[[float], str]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_SIM_BARS = 100_000
NS_PER_S = 1_000_000_000


def register(app: typer.Typer) -> None:
    app.command("chan")(chan)


def chan(
    data: Annotated[Path | None, typer.Option("--data", help="CSV or parquet OHLCV file.")] = None,
    symbol: Annotated[str | None, typer.Option("--symbol", help="Simulated-market symbol, e.g. BTC-USD.")] = None,
    timeframe: Annotated[
        str | None,
        typer.Option(
            "--timeframe",
            help="Bar length: 1s 1m 5m 1h 1d. With --data: resample the file's bars (a multiple of them).",
        ),
    ] = None,
    pen: Annotated[str, typer.Option("--pen", help="Pen definition: new_3kline or traditional.")] = "new_3kline",
    macd: Annotated[str, typer.Option("--macd", help="MACD preset from config/chan.toml.")] = "standard",
    strict: Annotated[
        bool, typer.Option("--strict/--no-strict", help="Strict pen validation (pens never overlap their fractals).")
    ] = True,
    min_klines: Annotated[
        int, typer.Option("--min-klines", help="Raw bars required strictly between a pen's two extremes.")
    ] = 3,
    bars: Annotated[int, typer.Option("--bars", help="Bars to simulate with --symbol.")] = 500,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulated market for --symbol.")] = 7,
    limit: Annotated[int, typer.Option("--limit", help="Rows per table in the human output (latest first).")] = 15,
    json_out: JsonOpt = False,
) -> None:
    """Chan-theory structure of a bar series: fractals, pens, segments and MACD-area divergences."""
    from desk.chan import ChanConfig, analyze

    if (data is None) == (symbol is None):
        raise UserError("give exactly one of --data FILE or --symbol SYM")
    try:
        config = ChanConfig(pen=pen, strict_validation=strict, min_klines_between_turns=min_klines, macd=macd)  # type: ignore[arg-type]
        from desk.chan import preset

        preset(macd)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    fmt: PriceFormat
    if data is not None:
        arrays, fmt = load_file(data), _plain_price
        if timeframe is not None:
            arrays = resample_bars(arrays, parse_timeframe(timeframe), data)
    else:
        assert symbol is not None
        arrays, fmt = sim_bars(symbol, parse_timeframe(timeframe or "1m"), bars, seed)
    result = analyze(arrays, config)
    if json_out:
        import json

        typer.echo(json.dumps(document(result, config, fmt)))
    else:
        _print_tables(result, config, fmt, max(1, limit))


# --- inputs --------------------------------------------------------------------------------------------------
def parse_timeframe(text: str) -> int:
    m = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not m or int(m.group(1)) <= 0:
        raise UserError(f"--timeframe {text!r} is not a bar length: expected e.g. 1s, 1m, 5m, 1h, 1d")
    return int(m.group(1)) * _UNITS[m.group(2)]


def sim_bars(symbol: str, timeframe_s: int, bars: int, seed: int) -> tuple[BarArrays, PriceFormat]:
    """OHLC bars (on the tick grid) from the simulated fair-price path of ``symbol``."""
    import numpy as np

    from desk.chan import BarArrays
    from desk.feeds.sim import NS, SimulatedMarket

    if not 1 <= bars <= MAX_SIM_BARS:
        raise UserError(f"--bars {bars} is out of range: expected 1..{MAX_SIM_BARS}")
    market = SimulatedMarket(seed=seed, price_step_s=max(0.25, timeframe_s / 240))
    if symbol not in market.instruments:
        raise UserError(f"unknown symbol {symbol!r}: expected one of {', '.join(market.instruments)}")
    inst = market.instruments[symbol]
    sub = max(1, min(60, round(timeframe_s / 0.25)))
    path = market.fair_price_path(bars * sub, timeframe_s / sub)[:, list(market.instruments).index(symbol)]
    tick = float(inst.tick_size)
    ticks = np.rint(path / tick)
    within = ticks[1:].reshape(bars, sub)
    opens = ticks[:-1:sub]
    high = np.maximum(within.max(axis=1), opens)
    low = np.minimum(within.min(axis=1), opens)
    start = market.now_ns
    ts = start + np.arange(bars, dtype=np.int64) * (timeframe_s * NS)
    arrays = BarArrays(ts=ts, open=opens * tick, high=high * tick, low=low * tick, close=within[:, -1] * tick)
    return arrays, lambda price: inst.price_str(inst.round_price_to_ticks(price))


def load_file(path: Path) -> BarArrays:
    """Read OHLCV with polars; every problem is one UserError line naming the file and the bad value."""
    import polars as pl

    from desk.chan import BarArrays

    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            df = pl.read_csv(path, try_parse_dates=True)
        elif suffix in (".parquet", ".pq"):
            df = pl.read_parquet(path)
        else:
            raise UserError(f"--data {path}: unknown file type {suffix or '(none)'!r}: expected .csv or .parquet")
    except (OSError, pl.exceptions.PolarsError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"--data {path}: cannot read: {first}") from exc
    cols = {c.lower(): c for c in df.columns}
    ts_name = cols.get("ts") or cols.get("timestamp")
    missing = [c for c in ("open", "high", "low", "close") if c not in cols]
    if ts_name is None:
        missing.insert(0, "ts (or timestamp)")
    if missing or ts_name is None:
        raise UserError(
            f"--data {path}: missing column(s) {', '.join(missing)}; found {', '.join(df.columns) or 'none'}"
        )
    if df.height == 0:
        raise UserError(f"--data {path}: no rows")
    prices = {name: _price_column(df, cols[name], path) for name in ("open", "high", "low", "close")}
    try:
        return BarArrays(ts=_ts_column(df, ts_name, path), **prices)
    except ValueError as exc:
        raise UserError(f"--data {path}: {exc}") from exc


def resample_bars(arrays: BarArrays, timeframe_s: int, path: Path) -> BarArrays:
    """Coarser bars aligned to the epoch: first open, max high, min low, last close of the file's bars in each window.

    The rule of ``desk.backtest.data.resample_ohlcv`` on float prices (that one works on the tick grid of an
    ``OHLCV``). Integer timestamps keep their own unit (seconds, ms, us or ns, told apart by magnitude as the
    backtest loader does); the window must be a whole multiple of the file's most common bar spacing.
    """
    import numpy as np

    from desk.backtest.data import _epoch_scale, format_timeframe
    from desk.chan import BarArrays

    ts = arrays.ts
    every = timeframe_s * NS_PER_S
    if len(ts) < 2:
        return arrays
    scale = _epoch_scale(float(abs(int(ts[0]))))
    ts_ns = ts * scale
    step = np.diff(ts_ns)
    bad = np.flatnonzero(step <= 0)
    if bad.size:
        row = int(bad[0]) + 1
        raise UserError(
            f"--data {path}: timestamp at row {row} ({int(ts[row])}) is not after row {row - 1} ({int(ts[row - 1])}): "
            "expected strictly increasing bar times to resample"
        )
    values, counts = np.unique(step, return_counts=True)
    spacing = int(values[np.argmax(counts)])
    if every % spacing:
        have = format_timeframe(spacing // NS_PER_S) if spacing % NS_PER_S == 0 else f"{spacing / NS_PER_S:g}s"
        raise UserError(
            f"--timeframe {format_timeframe(timeframe_s)}: expected a multiple of the file's {have} bars ({path})"
        )
    if every == spacing:
        return arrays
    bucket = ts_ns - ts_ns % every
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], len(ts)] - 1
    return BarArrays(
        ts=bucket[starts] // scale,
        open=arrays.open[starts],
        high=np.maximum.reduceat(arrays.high, starts),
        low=np.minimum.reduceat(arrays.low, starts),
        close=arrays.close[ends],
    )


def _price_column(df: Any, name: str, path: Path) -> Any:
    import polars as pl

    col = df[name]
    try:
        values = col.cast(pl.Float64, strict=True)
    except pl.exceptions.PolarsError:
        bad = col.cast(pl.Float64, strict=False).is_null() & col.is_not_null()
        row = int(bad.arg_true()[0]) if bad.any() else 0
        raise UserError(f"--data {path}: column {name} row {row}: {col[row]!r} is not a number") from None
    nulls = values.is_null()
    if nulls.any():
        raise UserError(f"--data {path}: column {name} row {int(nulls.arg_true()[0])} is empty: expected a number")
    return values.to_numpy()


def _ts_column(df: Any, name: str, path: Path) -> Any:
    """Datetimes and dates become epoch nanoseconds; integers pass through in their own unit."""
    import polars as pl

    col = df[name]
    if col.dtype == pl.String:
        try:
            col = col.str.to_datetime()
        except pl.exceptions.PolarsError:
            raise UserError(f"--data {path}: column {name}: {col[0]!r} is not a timestamp") from None
    if col.dtype == pl.Date:
        col = col.cast(pl.Datetime("ns"))
    if isinstance(col.dtype, pl.Datetime):
        col = col.dt.epoch("ns")
    elif not col.dtype.is_integer():
        raise UserError(f"--data {path}: column {name} has type {col.dtype}: expected datetimes or integers")
    if col.null_count():
        raise UserError(f"--data {path}: column {name} row {int(col.is_null().arg_true()[0])} is empty")
    return col.to_numpy()


def _plain_price(price: float) -> str:
    import numpy as np

    return str(np.format_float_positional(price, trim="-"))


# --- output --------------------------------------------------------------------------------------------------
def _point(f: Fractal, fmt: PriceFormat) -> dict[str, Any]:
    return {"index": f.index, "ts": f.ts, "price": fmt(f.price)}


def document(result: ChanResult, config: ChanConfig, fmt: PriceFormat) -> dict[str, Any]:
    """The JSON document of references/cli.md, plus settings and divergences."""
    from desk.chan import preset

    mp = preset(result.macd_preset)
    return {
        "bars": result.bars,
        "processed_bars": result.processed_bars,
        "pen": {
            "mode": config.pen,
            "strict_validation": config.strict_validation,
            "min_klines_between_turns": config.min_klines_between_turns,
        },
        "macd": {"preset": mp.name, "fast": mp.fast, "slow": mp.slow, "signal": mp.signal},
        "fractals": [{"kind": f.kind, "index": f.index, "ts": f.ts, "price": fmt(f.price)} for f in result.fractals],
        "pens": [
            {
                "direction": p.direction,
                "start": _point(p.start, fmt),
                "end": _point(p.end, fmt),
                "confirmed": p.confirmed,
            }
            for p in result.pens
        ],
        "segments": [
            {
                "direction": s.direction,
                "start": _point(s.start, fmt),
                "end": _point(s.end, fmt),
                "confirmed": s.confirmed,
                "pens": [s.first_pen, s.last_pen],
                "end_case": s.end_case,
            }
            for s in result.segments
        ],
        "divergences": [
            {
                "level": d.level,
                "direction": d.direction,
                "earlier": d.earlier,
                "later": d.later,
                "earlier_area": d.earlier_area,
                "later_area": d.later_area,
                "earlier_peak_hist": d.earlier_peak_hist,
                "later_peak_hist": d.later_peak_hist,
                "earlier_peak_dif": d.earlier_peak_dif,
                "later_peak_dif": d.later_peak_dif,
                "confirmed": d.confirmed,
            }
            for d in result.divergences
        ],
    }


def _print_tables(result: ChanResult, config: ChanConfig, fmt: PriceFormat, limit: int) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(
        f"{result.bars} bars ({result.processed_bars} after inclusion), {len(result.fractals)} fractals, "
        f"{len(result.pens)} pens, {len(result.segments)} segments; pen={config.pen} "
        f"strict={config.strict_validation} min_klines={config.min_klines_between_turns} macd={result.macd_preset}"
    )

    def moves(title: str, rows: list[tuple[int, Any]], extra: Callable[[Any], list[str]], heads: list[str]) -> None:
        table = Table(title=title)
        for head in ["#", "dir", "start idx", "start", "end idx", "end", "confirmed", *heads]:
            table.add_column(head, justify="right" if head not in ("dir", "confirmed") else "left")
        for n, m in rows:
            table.add_row(
                str(n),
                m.direction,
                str(m.start.index),
                fmt(m.start.price),
                str(m.end.index),
                fmt(m.end.price),
                "yes" if m.confirmed else "no",
                *extra(m),
            )
        console.print(table)

    pens = list(enumerate(result.pens))[-limit:]
    moves(f"Pens (last {len(pens)} of {len(result.pens)})", pens, lambda m: [], [])
    segs = list(enumerate(result.segments))[-limit:]
    moves(
        f"Segments (last {len(segs)} of {len(result.segments)})",
        segs,
        lambda s: [f"{s.first_pen}-{s.last_pen}", s.end_case],
        ["pens", "end"],
    )
    divs = result.divergences[-limit:]
    table = Table(title=f"MACD-area divergences ({len(result.divergences)})")
    for head in ("level", "dir", "earlier", "later", "earlier area", "later area", "ratio", "confirmed"):
        table.add_column(head, justify="right" if head not in ("level", "dir", "confirmed") else "left")
    for d in divs:
        table.add_row(
            d.level,
            d.direction,
            str(d.earlier),
            str(d.later),
            f"{d.earlier_area:.6g}",
            f"{d.later_area:.6g}",
            f"{d.later_area / d.earlier_area:.2f}",
            "yes" if d.confirmed else "no",
        )
    console.print(table)
