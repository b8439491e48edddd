"""Return histories for VaR: from prices, from a CSV/parquet file, and the horizon in periods of that history.

A history's *period* is the spacing of its rows (60 s for one-minute bars). A VaR horizon is given either in
periods (``"10"``) or in time (``"30s"``, ``"10m"``, ``"4h"``, ``"1d"``, ``"1w"``), which is converted with the
history's period: ``1d`` over one-minute returns is 1440 periods.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from desk.risk.errors import VarInputError

TIMESTAMP_NAMES = ("timestamp", "ts", "time", "date", "datetime")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_HORIZON = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhdw]?)\s*$")


@dataclass(frozen=True, slots=True)
class Horizon:
    """A parsed ``--horizon``: either a number of periods or a duration in seconds."""

    label: str
    periods: float | None
    seconds: float | None

    def in_periods(self, period_seconds: float | None) -> float:
        if self.periods is not None:
            return self.periods
        assert self.seconds is not None
        if period_seconds is None or not period_seconds > 0:
            raise VarInputError(
                f"horizon {self.label!r} is a duration but the returns' period is unknown; "
                "give the horizon in periods (e.g. 10)"
            )
        return self.seconds / period_seconds


def parse_horizon(text: str) -> Horizon:
    """``"1d"``, ``"4h"``, ``"10m"``, ``"30s"``, ``"1w"`` (durations) or ``"1"``, ``"10"`` (periods)."""
    match = _HORIZON.match(text)
    if not match:
        raise VarInputError(
            f"horizon {text!r} is not understood; expected periods (10) or a duration (30s, 10m, 4h, 1d)"
        )
    value = float(match.group(1))
    if not (math.isfinite(value) and value > 0):
        raise VarInputError(f"horizon {text!r} must be positive")
    unit = match.group(2)
    if not unit:
        return Horizon(text.strip(), value, None)
    return Horizon(text.strip(), None, value * _UNIT_SECONDS[unit])


def simple_returns(prices: np.ndarray) -> np.ndarray:
    """Per-period simple returns p[t] / p[t-1] - 1 of a (T+1, N) price array."""
    p = np.asarray(prices, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] < 2:
        raise VarInputError(f"need a (T+1) x N price array with T >= 1, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p <= 0):
        raise VarInputError("prices must be finite and positive")
    out: np.ndarray = p[1:] / p[:-1] - 1.0
    return out


@dataclass(frozen=True, slots=True)
class ReturnsTable:
    symbols: tuple[str, ...]
    returns: np.ndarray  # (T, N) float64, columns in ``symbols`` order
    period_seconds: float | None  # median spacing of the timestamps

    def select(self, symbols: list[str], source: str) -> np.ndarray:
        """The columns of ``symbols``, in that order."""
        missing = [s for s in symbols if s not in self.symbols]
        if missing:
            raise VarInputError(
                f"symbol {missing[0]} is not a column of {source}; expected one of {', '.join(self.symbols)}"
            )
        idx = [self.symbols.index(s) for s in symbols]
        out: np.ndarray = self.returns[:, idx]
        return out


def load_returns(path: Path) -> ReturnsTable:
    """Read a CSV or parquet file: a timestamp column and one column of simple per-period returns per symbol.

    The timestamp column is the one named timestamp/ts/time/date/datetime (any case), else the first column if
    it holds dates. Timestamps may be dates, datetimes, ISO strings or epoch numbers (s, ms, us or ns, told
    apart by magnitude); they must increase. Their median spacing is the period.
    """
    import polars as pl

    if not path.is_file():
        raise VarInputError(f"returns file {path} does not exist; expected a CSV or parquet file")
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
        if path.suffix.lower() in (".parquet", ".pq") or magic == b"PAR1":
            df = pl.read_parquet(path)
        else:
            df = pl.read_csv(path, try_parse_dates=True)
    except Exception as exc:  # polars raises many types for unreadable input
        raise VarInputError(
            f"cannot read returns file {path}: {str(exc).splitlines()[0]}; expected CSV or parquet"
        ) from exc
    if df.width < 2 or df.height < 2:
        raise VarInputError(
            f"returns file {path} has {df.width} columns and {df.height} rows; expected a timestamp column and one "
            "column of returns per symbol, at least 2 rows"
        )
    ts_col = _timestamp_column(df, path)
    seconds = _timestamps_seconds(df.get_column(ts_col), path)
    symbols = tuple(c for c in df.columns if c != ts_col)
    cols = []
    for sym in symbols:
        col = df.get_column(sym)
        if not col.dtype.is_numeric():
            raise VarInputError(f"column {sym} of {path} has type {col.dtype}; expected numeric simple returns")
        cols.append(col.cast(pl.Float64).fill_null(float("nan")).to_numpy())
    returns = np.column_stack(cols)
    steps = np.diff(seconds)
    if np.any(steps <= 0):
        row = int(np.argmax(steps <= 0)) + 1
        raise VarInputError(f"timestamps of {path} do not increase at row {row}; expected increasing timestamps")
    return ReturnsTable(symbols, returns, float(np.median(steps)))


def _timestamp_column(df: object, path: Path) -> str:
    import polars as pl

    assert isinstance(df, pl.DataFrame)
    for name in df.columns:
        if name.lower() in TIMESTAMP_NAMES:
            return name
    first = df.columns[0]
    if df.schema[first].is_temporal():
        return first
    raise VarInputError(
        f"returns file {path} has no timestamp column; expected one named {'/'.join(TIMESTAMP_NAMES)} "
        f"(columns: {', '.join(df.columns)})"
    )


def _timestamps_seconds(col: object, path: Path) -> np.ndarray:
    import polars as pl

    assert isinstance(col, pl.Series)
    if col.null_count():
        raise VarInputError(f"timestamp column {col.name} of {path} has empty values; expected a timestamp per row")
    dtype = col.dtype
    try:
        if dtype == pl.String:
            col = col.str.to_datetime()
            dtype = col.dtype
        if dtype == pl.Date:
            col = col.cast(pl.Datetime("us"))
            dtype = col.dtype
    except Exception as exc:
        raise VarInputError(f"timestamp column {col.name} of {path} is not parseable as dates ({exc})") from exc
    if isinstance(dtype, pl.Datetime):
        us = col.dt.cast_time_unit("us").cast(pl.Int64).to_numpy()
        out: np.ndarray = us.astype(np.float64) / 1e6
        return out
    if dtype.is_numeric():
        raw = col.cast(pl.Float64).to_numpy()
        magnitude = float(np.nanmax(np.abs(raw))) if len(raw) else 0.0
        scale = 1e9 if magnitude > 1e17 else 1e6 if magnitude > 1e14 else 1e3 if magnitude > 1e11 else 1.0
        epoch: np.ndarray = raw / scale
        return epoch
    raise VarInputError(f"timestamp column {col.name} of {path} has type {dtype}; expected dates or epoch numbers")
