"""OHLCV history for backtests: CSV or parquet read through polars, validated, converted onto the tick/lot grid.

Why validate here: a backtest on unsorted, duplicated or inconsistent bars runs and prints confident numbers.
Every problem is a ``UserError`` naming the file, the column or row and what was expected. Gaps (missing bars)
are not errors (venues have outages): they are reported, and the backtest runs across them.

Accepted shape: a time column (``ts``, ``timestamp``, ``time``, ``open_time``, ``date`` or ``datetime``; epoch
seconds/milliseconds/microseconds/nanoseconds, a datetime, or ISO-8601 text, naive meaning UTC) and the numeric
columns ``open``, ``high``, ``low``, ``close`` and optionally ``volume`` (column names case-insensitive). The
timeframe is the most common spacing of the timestamps. Parquet files written by desk (``desk data download``,
``desk data sim``) carry the symbol and its grid in the file metadata under ``desk.ohlcv``.

Prices become integer ticks of the instrument (nearest tick) and volumes integer lots, like every other price in
desk; the arrays are int64 numpy columns, which the event-driven loop turns into ``Bar`` events and the vectorised
path uses directly.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain, repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from desk.domain.events import Bar
from desk.domain.instruments import Instrument
from desk.errors import UserError

if TYPE_CHECKING:
    import polars as pl

NS = 1_000_000_000
METADATA_KEY = "desk.ohlcv"
TIME_COLUMNS = ("ts", "timestamp", "time", "open_time", "date", "datetime")
PRICE_COLUMNS = ("open", "high", "low", "close")
DEFAULT_LOT = Decimal("0.00000001")
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_timeframe(text: str, what: str = "timeframe") -> int:
    """``"1m"`` -> 60 seconds; ``"90s"``, ``"4h"``, ``"1d"``, ``"1w"``; a bare number is seconds."""
    raw = text.strip().lower()
    unit = raw[-1:] if raw[-1:] in _UNITS else "s"
    number = raw[:-1] if raw[-1:] in _UNITS else raw
    if not number.isdigit() or int(number) <= 0:
        raise UserError(f"{what} {text!r}: expected a positive whole number with s, m, h, d or w (e.g. 1m, 4h)")
    return int(number) * _UNITS[unit]


def format_timeframe(seconds: int) -> str:
    for unit, size in (("w", 604_800), ("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True, slots=True)
class Gap:
    """Bars missing between two consecutive rows: ``after_ns`` is the last bar before the hole."""

    after_ns: int
    next_ns: int
    missing: int


@dataclass(frozen=True, slots=True)
class OHLCV:
    """Validated bars of one symbol on its grid: int64 columns of equal length, strictly increasing ``ts_ns``
    (bar start times)."""

    symbol: str
    instrument: Instrument
    timeframe_s: int
    ts_ns: IntArray
    open: IntArray
    high: IntArray
    low: IntArray
    close: IntArray
    volume: IntArray
    gaps: tuple[Gap, ...] = ()
    source: str = ""
    _floats: dict[str, FloatArray] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return int(self.ts_ns.shape[0])

    def prices(self, column: str) -> FloatArray:
        """A price column in quote currency (floats, for indicators and statistics); cached."""
        cached = self._floats.get(column)
        if cached is None:
            ticks: IntArray = getattr(self, column)
            cached = ticks.astype(np.float64) * float(self.instrument.tick_size)
            self._floats[column] = cached
        return cached

    def bars(self, start: int = 0, stop: int | None = None, chunk: int = 65_536) -> Iterator[Bar]:
        """``Bar`` events, converted in chunks: ``tolist`` per chunk is far cheaper than numpy scalars per bar, and
        ``map`` builds the events in C, without a Python-level loop iteration per bar."""
        stop = len(self) if stop is None else min(stop, len(self))
        return chain.from_iterable(self._bar_chunks(start, stop, chunk))

    def _bar_chunks(self, start: int, stop: int, chunk: int) -> Iterator[Iterator[Bar]]:
        symbol, tf = self.symbol, self.timeframe_s
        for lo in range(start, stop, chunk):
            hi = min(stop, lo + chunk)
            yield map(
                Bar,
                repeat(symbol, hi - lo),
                repeat(tf),
                self.ts_ns[lo:hi].tolist(),
                self.open[lo:hi].tolist(),
                self.high[lo:hi].tolist(),
                self.low[lo:hi].tolist(),
                self.close[lo:hi].tolist(),
                self.volume[lo:hi].tolist(),
                repeat(0),
            )

    def slice(self, start: int, stop: int) -> OHLCV:
        return OHLCV(
            self.symbol,
            self.instrument,
            self.timeframe_s,
            self.ts_ns[start:stop],
            self.open[start:stop],
            self.high[start:stop],
            self.low[start:stop],
            self.close[start:stop],
            self.volume[start:stop],
            tuple(g for g in self.gaps if start_ts(self, start) <= g.after_ns < start_ts(self, stop - 1)),
            self.source,
        )

    def describe_gaps(self, limit: int = 3) -> str:
        if not self.gaps:
            return "no gaps"
        from desk.commands.event_format import iso_ns

        missing = sum(g.missing for g in self.gaps)
        first = ", ".join(f"{g.missing} after {iso_ns(g.after_ns)}" for g in self.gaps[:limit])
        more = f" (+{len(self.gaps) - limit} more)" if len(self.gaps) > limit else ""
        return f"{len(self.gaps)} gaps, {missing} bars missing: {first}{more}"


def start_ts(data: OHLCV, index: int) -> int:
    return int(data.ts_ns[max(0, min(index, len(data) - 1))])


# --- building from arrays ----------------------------------------------------------------------------------
def from_arrays(
    symbol: str,
    instrument: Instrument,
    ts_ns: npt.ArrayLike,
    open_: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike | None = None,
    *,
    timeframe_s: int | None = None,
    source: str = "",
) -> OHLCV:
    """Bars from float prices (quote currency) and volumes (base units): validated and put on the grid."""
    ts = np.asarray(ts_ns, dtype=np.int64)
    prices = {
        name: np.asarray(col, dtype=np.float64)
        for name, col in zip(PRICE_COLUMNS, (open_, high, low, close), strict=True)
    }
    vol = np.zeros(ts.shape[0]) if volume is None else np.asarray(volume, dtype=np.float64)
    return _build(symbol, instrument, ts, prices, vol, timeframe_s, source or symbol)


def _build(
    symbol: str,
    instrument: Instrument,
    ts: IntArray,
    prices: Mapping[str, FloatArray],
    volume: FloatArray,
    timeframe_s: int | None,
    source: str,
) -> OHLCV:
    n = ts.shape[0]
    if n < 2:
        raise UserError(f"{source}: {n} bars: expected at least 2")
    for name, col in (*prices.items(), ("volume", volume)):
        if col.shape[0] != n:
            raise UserError(f"{source}: column {name} has {col.shape[0]} values, expected {n}")
        bad = np.flatnonzero(~np.isfinite(col))
        if bad.size:
            raise UserError(f"{source}: column {name} row {int(bad[0]) + 1} is not a finite number")
    for name in PRICE_COLUMNS:
        bad = np.flatnonzero(prices[name] <= 0)
        if bad.size:
            value = prices[name][bad[0]]
            raise UserError(f"{source}: {name} {value:g} at row {int(bad[0]) + 1}: expected a price > 0")
    bad = np.flatnonzero(volume < 0)
    if bad.size:
        raise UserError(f"{source}: volume {volume[bad[0]]:g} at row {int(bad[0]) + 1}: expected >= 0")
    step = np.diff(ts)
    bad = np.flatnonzero(step <= 0)
    if bad.size:
        i = int(bad[0]) + 1
        what = "repeats" if step[bad[0]] == 0 else "goes back from"
        raise UserError(
            f"{source}: timestamp at row {i + 1} ({_iso(int(ts[i]))}) {what} row {i} ({_iso(int(ts[i - 1]))}): "
            "expected strictly increasing bar times"
        )
    tick = float(instrument.tick_size)
    ticks = {name: np.rint(col / tick).astype(np.int64) for name, col in prices.items()}
    o, h, lo, c = (ticks[name] for name in PRICE_COLUMNS)
    bad = np.flatnonzero((h < np.maximum(o, c)) | (lo > np.minimum(o, c)) | (lo <= 0))
    if bad.size:
        i = int(bad[0])
        raise UserError(
            f"{source}: row {i + 1} ({_iso(int(ts[i]))}) has open {prices['open'][i]:g} high {prices['high'][i]:g} "
            f"low {prices['low'][i]:g} close {prices['close'][i]:g}: expected low <= open, close <= high"
        )
    tf = timeframe_s if timeframe_s is not None else _infer_timeframe(step, source)
    tf_ns = tf * NS
    holes = np.flatnonzero(step > tf_ns)
    gaps = tuple(Gap(int(ts[i]), int(ts[i + 1]), int(step[i] // tf_ns) - 1) for i in holes if step[i] // tf_ns > 1)
    lots = np.floor(volume / float(instrument.lot_size) + 1e-9).astype(np.int64)
    return OHLCV(symbol, instrument, tf, ts, o, h, lo, c, lots, gaps, source)


def _infer_timeframe(step: IntArray, source: str) -> int:
    values, counts = np.unique(step, return_counts=True)
    common = int(values[np.argmax(counts)])
    if common % NS:
        raise UserError(f"{source}: bars are {common / NS:g} s apart: expected a whole number of seconds")
    return common // NS


def _iso(ts_ns: int) -> str:
    from desk.commands.event_format import iso_ns

    return iso_ns(ts_ns)


# --- reading files -----------------------------------------------------------------------------------------
def read_metadata(path: Path) -> dict[str, Any]:
    """desk's own metadata of a parquet file (empty for other files)."""
    if path.suffix.lower() not in (".parquet", ".pq"):
        return {}
    import polars as pl

    try:
        raw = pl.read_parquet_metadata(path).get(METADATA_KEY)
    except Exception:  # not parquet, or unreadable: the scan below reports it properly
        return {}
    if not raw:
        return {}
    try:
        meta = json.loads(raw)
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def instrument_for(
    symbol: str, tick_size: Decimal | None, lot_size: Decimal | None, meta: Mapping[str, Any] | None = None
) -> Instrument | None:
    """The instrument from explicit sizes, else the file's metadata, else the simulated market's definition;
    None when the tick size must be inferred from the prices."""
    meta = meta or {}
    known: Instrument | None = None
    from desk.feeds.sim import DEFAULT_SYMBOLS

    for spec in DEFAULT_SYMBOLS:
        if spec.instrument.symbol == symbol:
            known = spec.instrument
    tick = tick_size or _dec(meta.get("tick_size")) or (known.tick_size if known else None)
    lot = lot_size or _dec(meta.get("lot_size")) or (known.lot_size if known else None) or DEFAULT_LOT
    if tick is None:
        return None
    return Instrument(symbol, tick, lot, known.min_notional if known else Decimal(0))


def _dec(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        result = Decimal(str(value))
    except ArithmeticError:
        return None
    return result if result.is_finite() and result > 0 else None


def infer_tick(prices: FloatArray, max_decimals: int = 8) -> Decimal:
    """The coarsest power-of-ten tick every price sits on (to 1e-6 of a tick)."""
    sample = prices[:: max(1, prices.shape[0] // 200_000)]
    for d in range(max_decimals + 1):
        scaled = sample * 10.0**d
        if np.all(np.abs(scaled - np.rint(scaled)) < 1e-6 * np.maximum(1.0, np.abs(scaled) * 1e-9)):
            return Decimal(1).scaleb(-d)
    return Decimal(1).scaleb(-max_decimals)


def load_ohlcv(
    path: Path,
    *,
    symbol: str | None = None,
    tick_size: Decimal | None = None,
    lot_size: Decimal | None = None,
    resample: str | None = None,
) -> OHLCV:
    """Read, validate and grid a CSV or parquet file of bars (see the module docstring for the shape)."""
    import polars as pl

    path = Path(path)
    if not path.is_file():
        raise UserError(f"--data {str(path)!r}: no such file: expected a CSV or parquet file of OHLCV bars")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise UserError(f"--data {str(path)!r}: unknown extension {suffix or '(none)'}: expected .csv or .parquet")
    meta = read_metadata(path)
    sym = symbol or str(meta.get("symbol") or "") or _symbol_from_name(path)
    if "-" not in sym:
        raise UserError(f"symbol {sym!r}: expected a desk symbol BASE-QUOTE such as BTC-USD (use --symbol)")
    source = path.name
    try:
        lazy = pl.scan_csv(path, infer_schema_length=10_000) if suffix == ".csv" else pl.scan_parquet(path)
        schema = lazy.collect_schema()
    except Exception as exc:  # polars raises several error types for unreadable files
        raise UserError(f"--data {str(path)!r}: cannot read it as {suffix[1:]} ({_first_line(exc)})") from None
    by_lower = {name.lower(): name for name in schema.names()}
    time_col = next((by_lower[c] for c in TIME_COLUMNS if c in by_lower), None)
    if time_col is None:
        raise UserError(
            f"{source}: no time column: expected one of {', '.join(TIME_COLUMNS)}; found {', '.join(schema.names())}"
        )
    missing = [c for c in PRICE_COLUMNS if c not in by_lower]
    if missing:
        raise UserError(f"{source}: missing column {missing[0]!r}: expected {', '.join(PRICE_COLUMNS)} (and volume)")
    numeric: list[pl.Expr] = []
    for name in (*PRICE_COLUMNS, "volume"):
        if name not in by_lower:
            numeric.append(pl.lit(0.0).alias(name))
            continue
        dtype = schema[by_lower[name]]
        if not dtype.is_numeric():
            raise UserError(f"{source}: column {by_lower[name]!r} holds {dtype}: expected numbers")
        numeric.append(pl.col(by_lower[name]).cast(pl.Float64).alias(name))
    ts_expr = _time_expr(lazy, time_col, schema[time_col], source)
    try:
        frame = lazy.select(ts_expr.alias("ts_ns"), *numeric).collect()
    except Exception as exc:
        raise UserError(f"{source}: cannot read column {time_col!r} as time ({_first_line(exc)})") from None
    for name in frame.columns:
        nulls = frame.get_column(name).is_null()
        if nulls.any():
            row = int(nulls.arg_true()[0]) + 1
            label = time_col if name == "ts_ns" else by_lower.get(name, name)
            raise UserError(f"{source}: column {label!r} is empty at row {row}: expected a value in every row")
    tf_resample = parse_timeframe(resample, "--resample") if resample else None
    ts = frame.get_column("ts_ns").to_numpy().astype(np.int64, copy=False)
    prices = {name: frame.get_column(name).to_numpy() for name in PRICE_COLUMNS}
    volume = frame.get_column("volume").to_numpy()
    del frame
    inst = instrument_for(sym, tick_size, lot_size, meta)
    if inst is None:
        tick = infer_tick(np.concatenate([prices[c][:100_000] for c in PRICE_COLUMNS]))
        inst = Instrument(sym, tick, lot_size or DEFAULT_LOT)
    data = _build(sym, inst, ts, prices, volume, None, source)
    if tf_resample is not None:
        data = resample_ohlcv(data, tf_resample)
    return data


def _time_expr(lazy: pl.LazyFrame, column: str, dtype: Any, source: str) -> pl.Expr:
    import polars as pl

    col = pl.col(column)
    if dtype == pl.Date:
        return col.cast(pl.Datetime("ns")).dt.epoch("ns")
    if isinstance(dtype, pl.Datetime):
        return col.dt.epoch("ns")
    if dtype == pl.String:
        return col.str.to_datetime(time_unit="ns", strict=True).dt.epoch("ns")
    if dtype.is_integer() or dtype.is_float():
        head = lazy.select(col.cast(pl.Float64)).head(1).collect()
        first = abs(float(head.item())) if head.height and head.item() is not None else 0.0
        scale = _epoch_scale(first)
        return (
            (col.cast(pl.Float64) * scale).round(0).cast(pl.Int64) if dtype.is_float() else col.cast(pl.Int64) * scale
        )
    raise UserError(f"{source}: time column {column!r} holds {dtype}: expected epoch numbers, datetimes or ISO text")


def _epoch_scale(first: float) -> int:
    """Seconds, milliseconds, microseconds or nanoseconds since the epoch, told apart by magnitude."""
    if first < 1e11:
        return NS
    if first < 1e14:
        return 1_000_000
    if first < 1e17:
        return 1_000
    return 1


def _symbol_from_name(path: Path) -> str:
    stem = path.stem.split("_")[0].split(".")[0].upper()
    if "-" in stem:
        return stem
    for quote in ("USDT", "USDC", "USD", "EUR", "BTC", "ETH"):
        if stem.endswith(quote) and len(stem) > len(quote):
            return f"{stem[: -len(quote)]}-{quote}"
    return stem


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# --- resampling --------------------------------------------------------------------------------------------
def resample_ohlcv(data: OHLCV, timeframe_s: int) -> OHLCV:
    """Coarser bars aligned to the epoch: first open, max high, min low, last close, summed volume. A coarse bar
    is built from whatever fine bars exist in its window (gaps stay gaps)."""
    if timeframe_s % data.timeframe_s:
        raise UserError(
            f"--resample {format_timeframe(timeframe_s)}: expected a multiple of the data's "
            f"{format_timeframe(data.timeframe_s)} bars"
        )
    if timeframe_s == data.timeframe_s:
        return data
    every = timeframe_s * NS
    bucket = data.ts_ns - data.ts_ns % every
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], len(data)] - 1
    ts = bucket[starts]
    o = data.open[starts]
    c = data.close[ends]
    h = np.maximum.reduceat(data.high, starts)
    lo = np.minimum.reduceat(data.low, starts)
    v = np.add.reduceat(data.volume, starts)
    step = np.diff(ts)
    holes = np.flatnonzero(step > every)
    gaps = tuple(Gap(int(ts[i]), int(ts[i + 1]), int(step[i] // every) - 1) for i in holes)
    return OHLCV(data.symbol, data.instrument, timeframe_s, ts, o, h, lo, c, v, gaps, data.source)


# --- writing -----------------------------------------------------------------------------------------------
def write_ohlcv(data: OHLCV, path: Path, extra: Mapping[str, Any] | None = None) -> Path:
    """Parquet (or CSV by extension) with decimal prices on the grid; parquet keeps desk's metadata."""
    import polars as pl

    inst = data.instrument
    tick, lot = float(inst.tick_size), float(inst.lot_size)
    frame = pl.DataFrame(
        {
            "ts": pl.Series(data.ts_ns).cast(pl.Datetime("ns", "UTC")),
            "open": data.open * tick,
            "high": data.high * tick,
            "low": data.low * tick,
            "close": data.close * tick,
            "volume": data.volume * lot,
        }
    )
    decimals = {"open": inst.price_decimals, "high": inst.price_decimals, "low": inst.price_decimals}
    frame = frame.with_columns(
        *(pl.col(c).round(d) for c, d in decimals.items()),
        pl.col("close").round(inst.price_decimals),
        pl.col("volume").round(inst.size_decimals),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        frame.write_csv(path)
        return path
    meta = {
        "symbol": data.symbol,
        "tick_size": str(inst.tick_size),
        "lot_size": str(inst.lot_size),
        "timeframe_s": data.timeframe_s,
        **(extra or {}),
    }
    tmp = path.with_name(path.name + ".tmp")
    frame.write_parquet(tmp, compression="zstd", metadata={METADATA_KEY: json.dumps(meta)})
    tmp.replace(path)
    return path


def simulated(symbol: str, bars: int, *, seed: int = 7, timeframe_s: int = 60, start_ns: int | None = None) -> OHLCV:
    """Bars of the simulated market's fair price: each bar is built from the finer 0.25 s path, so high and low
    are the real extremes of the path within the bar, not the open/close envelope."""
    from desk.feeds.sim import DEFAULT_SYMBOLS, SimulatedMarket

    specs = [s for s in DEFAULT_SYMBOLS if s.instrument.symbol == symbol]
    if not specs:
        known = ", ".join(s.instrument.symbol for s in DEFAULT_SYMBOLS)
        raise UserError(f"unknown symbol {symbol!r}: expected one of {known}")
    if bars < 2:
        raise UserError(f"--bars {bars}: expected at least 2")
    spec = specs[0]
    market = (
        SimulatedMarket([spec], seed=seed)
        if start_ns is None
        else SimulatedMarket([spec], seed=seed, start_ns=start_ns)
    )
    steps = max(1, round(timeframe_s / 0.25))
    inst = spec.instrument
    t0 = market.now_ns
    chunk = max(1, 20_000 // steps)
    opens: list[FloatArray] = []
    highs: list[FloatArray] = []
    lows: list[FloatArray] = []
    closes: list[FloatArray] = []
    last = None
    done = 0
    while done < bars:
        k = min(chunk, bars - done)
        path = market.fair_price_path(k * steps, bar_seconds=0.25)[:, 0]
        if last is not None:
            path[0] = last
        fine = path[1:].reshape(k, steps)
        prev = path[:-1].reshape(k, steps)[:, 0]
        opens.append(prev)
        closes.append(fine[:, -1])
        highs.append(np.maximum(fine.max(axis=1), prev))
        lows.append(np.minimum(fine.min(axis=1), prev))
        last = float(path[-1])
        done += k
    o, h, lo, c = (np.concatenate(x) for x in (opens, highs, lows, closes))
    rng = np.random.default_rng(seed + 1)
    volume = np.round(rng.lognormal(math.log(spec.typical_size * 20), 0.8, bars), inst.size_decimals)
    ts = t0 + np.arange(bars, dtype=np.int64) * timeframe_s * NS
    return from_arrays(symbol, inst, ts, o, h, lo, c, volume, timeframe_s=timeframe_s, source=f"sim:{symbol}")
